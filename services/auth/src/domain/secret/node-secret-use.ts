import { type InstanceAssigned, type NodeAssignmentEvent } from '@pier/contracts';

/** The secrets one instance assigned to a node reads: its space, and the names it refers to. */
interface InstanceSecrets {
  readonly space: string;
  readonly secrets: readonly string[];
}

/** What a node runs now, as far as secrets go: by instance id, from its assignment subject. */
export type NodeSecretUse = ReadonlyMap<string, InstanceSecrets>;

export function evolveNodeSecretUse(state: NodeSecretUse | null, event: NodeAssignmentEvent): NodeSecretUse {
  const next = new Map(state ?? []);
  const use = (a: { instanceId: string; space: string; spec: InstanceAssigned['data']['spec'] }) =>
    next.set(a.instanceId, {
      space: a.space,
      secrets: [
        ...Object.values(a.spec.secretEnv).map((ref) => ref.secret),
        ...(a.spec.registrySecret ? [a.spec.registrySecret] : []),
      ],
    });
  if (event.type === 'InstanceAssigned') use(event.data);
  else if (event.type === 'InstancesAssigned') event.data.assignments.forEach(use);
  else next.delete(event.data.instanceId);
  return next;
}

/**
 * Whether a node may read a secret: only while an instance assigned to it refers to that secret of that
 * space. A node's credential alone opens nothing (a compromised node reads only what it runs).
 */
export function nodeNeedsSecret(state: NodeSecretUse | null, space: string, name: string): boolean {
  for (const instance of state?.values() ?? []) {
    if (instance.space === space && instance.secrets.includes(name)) return true;
  }
  return false;
}

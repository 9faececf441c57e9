import { type NodeAssignmentEvent } from '@pier/contracts';

/** The secrets one instance assigned to a node reads: its space, and the names it refers to. */
interface InstanceSecrets {
  readonly space: string;
  readonly secrets: readonly string[];
}

/** What a node runs now, as far as secrets go: by instance id, from its assignment subject. */
export type NodeSecretUse = ReadonlyMap<string, InstanceSecrets>;

export function evolveNodeSecretUse(state: NodeSecretUse | null, event: NodeAssignmentEvent): NodeSecretUse {
  const next = new Map(state ?? []);
  if (event.type === 'InstanceAssigned') {
    const { spec } = event.data;
    next.set(event.data.instanceId, {
      space: event.data.space,
      secrets: [
        ...Object.values(spec.secretEnv).map((ref) => ref.secret),
        ...(spec.registrySecret ? [spec.registrySecret] : []),
      ],
    });
  } else next.delete(event.data.instanceId);
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

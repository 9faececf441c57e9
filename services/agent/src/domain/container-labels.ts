import { type InstanceAssigned } from '@pier/contracts';

/** What the control plane asks this node to run: one instance of one version. */
export type Assignment = InstanceAssigned['data'];

/**
 * Labels on every container the agent creates. They are how a restarted agent finds its containers again
 * (`node`), knows whose they are (`instance`) and how often that instance restarted (`restarts`).
 */
export const LABELS = {
  managed: 'pier.managed',
  node: 'pier.node',
  instance: 'pier.instance',
  space: 'pier.space',
  app: 'pier.app',
  version: 'pier.version',
  restarts: 'pier.restarts',
  /**
   * The installation (by default its event-stream prefix) whose agent made the container or network, set
   * by the Docker driver: several installations, or a test run beside a platform in use, share an engine,
   * and each finds and cleans up its own by it.
   */
  installation: 'pier.installation',
} as const;

/** A network of the agent: one per space, shared by every instance of that space on the engine. */
export interface SpaceNetwork {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * `pier-<space>`: the same name on every agent of an engine, so that concurrent launches of one space
 * meet on one network. Labelled as Pier's (not the node's: several agents may share an engine), so the
 * clean-up finds its networks and leaves everybody else's alone.
 */
export function spaceNetwork(space: string): SpaceNetwork {
  return { name: `pier-${space}`, labels: { [LABELS.managed]: 'true', [LABELS.space]: space } };
}

/**
 * Names other containers of the space reach an instance by, besides its container name: its app
 * (every instance of it, round robin) and its instance id.
 */
export function networkAliases(assignment: Assignment): string[] {
  return [assignment.app, assignment.instanceId];
}

export function containerLabels(assignment: Assignment, restarts: number): Record<string, string> {
  return {
    [LABELS.managed]: 'true',
    [LABELS.node]: assignment.nodeId,
    [LABELS.instance]: assignment.instanceId,
    [LABELS.space]: assignment.space,
    [LABELS.app]: assignment.app,
    [LABELS.version]: String(assignment.version),
    [LABELS.restarts]: String(restarts),
  };
}

/** `pier-<space>-<app>-v<version>-<first 8 of the instance id>`: readable in `docker ps`, unique per instance. */
export function containerName(assignment: Assignment): string {
  const { space, app, version, instanceId } = assignment;
  return `pier-${space}-${app}-v${version}-${instanceId.slice(0, 8)}`;
}

/** The instance a labelled container belongs to and its restart count; null instance when unlabelled. */
export function readLabels(labels: Readonly<Record<string, string>>): {
  instanceId: string | null;
  restarts: number;
} {
  const restarts = Number(labels[LABELS.restarts]);
  return {
    instanceId: labels[LABELS.instance] || null,
    restarts: Number.isInteger(restarts) && restarts >= 0 ? restarts : 0,
  };
}

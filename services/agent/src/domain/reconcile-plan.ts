/** A container of this node as the engine lists it. */
export interface ObservedContainer {
  readonly id: string;
  /** Null when the container carries the node label but no instance label. */
  readonly instanceId: string | null;
  readonly restarts: number;
  readonly running: boolean;
  /** Creation time, epoch milliseconds. */
  readonly createdAt: number;
}

export interface ReconcileInput {
  /** Instances assigned to this node. */
  readonly desired: ReadonlySet<string>;
  /** Instances with a runner that is running them. */
  readonly active: ReadonlySet<string>;
  /** Instances with a runner that is stopping them. */
  readonly stopping: ReadonlySet<string>;
  readonly containers: readonly ObservedContainer[];
  /** Whether the desired set reflects every assignment event written so far. */
  readonly caughtUp: boolean;
}

/**
 * Why a container goes: `duplicate` (its instance keeps another container), `unassigned` (its instance is
 * not assigned here), `unlabelled` (it names no instance).
 */
export interface Removal {
  readonly container: ObservedContainer;
  readonly why: 'duplicate' | 'unassigned' | 'unlabelled';
}

export interface ReconcilePlan {
  /** Instances to start running, each adopting the container it already has, if any. */
  readonly launch: readonly { instanceId: string; adopt: ObservedContainer | null }[];
  /** Instances to stop gracefully. */
  readonly stop: readonly string[];
  /** Containers nobody owns: extra containers of an instance being adopted, and strays. */
  readonly remove: readonly Removal[];
}

/**
 * Desired against actual. An instance waits for its previous runner to finish stopping before it is
 * launched again. Strays (containers whose instance is neither assigned nor being run) are only
 * removed once `caughtUp`: before that, an unknown instance may simply be one not read yet.
 */
export function planReconcile(input: ReconcileInput): ReconcilePlan {
  const byInstance = new Map<string | null, ObservedContainer[]>();
  for (const c of input.containers)
    byInstance.set(c.instanceId, [...(byInstance.get(c.instanceId) ?? []), c]);
  const launch: { instanceId: string; adopt: ObservedContainer | null }[] = [];
  const remove: Removal[] = [];
  for (const instanceId of input.desired) {
    if (input.active.has(instanceId) || input.stopping.has(instanceId)) continue;
    const [adopt = null, ...extra] = [...(byInstance.get(instanceId) ?? [])].sort(preferred);
    launch.push({ instanceId, adopt });
    for (const container of extra) remove.push({ container, why: 'duplicate' });
  }
  const stop = [...input.active].filter((id) => !input.desired.has(id));
  if (input.caughtUp) {
    for (const [instanceId, containers] of byInstance) {
      if (instanceId !== null && (input.desired.has(instanceId) || owned(input, instanceId))) continue;
      const why = instanceId === null ? 'unlabelled' : 'unassigned';
      for (const container of containers) remove.push({ container, why });
    }
  }
  return { launch, stop, remove };
}

const owned = (input: ReconcileInput, instanceId: string) =>
  input.active.has(instanceId) || input.stopping.has(instanceId);

/** The container to keep: a running one, then the latest restart, then the newest. */
function preferred(a: ObservedContainer, b: ObservedContainer): number {
  if (a.running !== b.running) return a.running ? -1 : 1;
  if (a.restarts !== b.restarts) return b.restarts - a.restarts;
  return b.createdAt - a.createdAt;
}

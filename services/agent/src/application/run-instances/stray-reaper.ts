import { randomUUID } from 'node:crypto';
import { InstanceStopped } from '@pier/contracts';
import { type Logger } from '@pier/observability';
import { LABELS } from '../../domain/container-labels';
import { type Removal } from '../../domain/reconcile-plan';
import { type ContainerDriver, type InstanceEventLog } from '../ports';
import { InstanceReports } from './instance-reports';

/** Age before an empty network may be removed: a launch creates its container on it within that. */
const NETWORK_GRACE_MS = 10_000;

/**
 * Removes containers that carry this node's label but that no assigned instance owns, like Nomad's
 * `reconcile_dangling`. However carefully the runners order their steps, two races leave such
 * containers behind, and only a sweep over what the engine really holds closes them:
 * - an instance is unassigned while the agent is down: its container keeps running, and the agent that
 *   comes back never gets a runner for it (the instance is not assigned any more) to stop it;
 * - the agent crashes between creating a container and recording it (or between a restart's create and
 *   the old container's removal): the container exists, nothing ever reported it.
 * The plan only names strays once the assignment feed has caught up; before that, an unknown instance may
 * just be one whose assignment has not been read yet. A stray of an instance this node was assigned and
 * then unassigned gets the `InstanceStopped` its runner would have reported (the control plane waits
 * for it); duplicates of an adopted instance, and containers of instances never assigned here, are
 * removed quietly.
 *
 * It also removes the spaces' networks that no container uses any more (each pass, once the removals
 * above have been started). The race here is a launch of the same space: it resolves (or creates) the
 * network, then creates its container on it, and a network removed in between fails that create. The
 * driver closes it for launches of this agent (a network with a launch under way is not removed, and
 * resolving and removing one name take turns). Another agent sharing the engine cannot see those, so a
 * network younger than `NETWORK_GRACE_MS` is left alone (its first container may be on its way), and a
 * launch whose network vanishes all the same resolves it again and retries. A network removed too early
 * is therefore only ever recreated, and one left over is removed by a later pass.
 *
 * An empty network is kept `networkIdleSeconds` since it was last seen in use (by this agent's passes;
 * since the agent started for one it never saw used): a redeploy or restart of a space's only app finds
 * it there rather than paying for a new one.
 */
export class StrayReaper {
  private readonly inFlight = new Set<string>();
  private pruning: Promise<void> | null = null;
  /** When each network was last seen with containers (epoch ms), by id. */
  private readonly lastUsed = new Map<string, number>();
  private readonly startedAt: number;

  constructor(
    private readonly driver: ContainerDriver,
    private readonly events: InstanceEventLog,
    private readonly nodeId: string,
    private readonly graceSeconds: number,
    private readonly logger: Logger,
    private readonly networkIdleSeconds = 300,
    private readonly now: () => number = Date.now,
  ) {
    this.startedAt = now();
  }

  /**
   * Removes the containers in the background; a container already being removed is skipped.
   * @param wasUnassigned whether the instance was assigned to this node and then unassigned.
   */
  reap(removals: readonly Removal[], wasUnassigned: (instanceId: string) => boolean): void {
    for (const removal of removals) {
      const id = removal.container.id;
      if (this.inFlight.has(id)) continue;
      this.inFlight.add(id);
      const report = removal.why === 'unassigned' && wasUnassigned(removal.container.instanceId!);
      void this.remove(removal, report)
        .catch((error: unknown) =>
          this.logger.warn({ err: error, containerId: id }, 'could not remove a stray'),
        )
        .finally(() => this.inFlight.delete(id));
    }
    this.pruning ??= this.pruneNetworks()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'could not remove unused networks'))
      .finally(() => (this.pruning = null));
  }

  /** Resolves once no removal is under way. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0 || this.pruning) await new Promise((r) => setTimeout(r, 50));
  }

  private async pruneNetworks(): Promise<void> {
    const networks = await this.driver.listNetworks({ [LABELS.managed]: 'true' });
    const now = this.now();
    const settled = now - NETWORK_GRACE_MS;
    const idleSince = now - this.networkIdleSeconds * 1000;
    for (const network of networks) if (network.containers > 0) this.lastUsed.set(network.id, now);
    const idle = networks.filter(
      (n) =>
        n.containers === 0 &&
        n.createdAt <= settled &&
        (this.lastUsed.get(n.id) ?? Math.max(n.createdAt, this.startedAt)) <= idleSince,
    );
    for (const network of idle) {
      if (await this.driver.removeUnusedNetwork(network.id)) {
        this.lastUsed.delete(network.id);
        this.logger.info({ network: network.name }, 'removed an unused network');
      }
    }
    const listed = new Set(networks.map((n) => n.id));
    for (const id of this.lastUsed.keys()) if (!listed.has(id)) this.lastUsed.delete(id);
  }

  private async remove({ container, why }: Removal, report: boolean): Promise<void> {
    // The list the plan was made from may be stale: a runner may have removed it since.
    if (!(await this.driver.inspect(container.id))) return;
    this.logger.info({ containerId: container.id, instanceId: container.instanceId, why }, 'removing stray');
    await this.driver.stop(container.id, this.graceSeconds);
    const exitCode = (await this.driver.inspect(container.id))?.exitCode ?? null;
    await this.driver.destroy(container.id);
    if (report && container.instanceId) {
      const reports = new InstanceReports(
        this.events,
        container.instanceId,
        this.nodeId,
        randomUUID(),
        this.logger,
      );
      reports.report(InstanceStopped, { exitCode });
      await reports.settle(10_000);
    }
  }
}

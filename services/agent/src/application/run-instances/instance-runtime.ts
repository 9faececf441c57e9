import {
  InstanceAssigned,
  InstancesAssigned,
  InstanceUnassigned,
  type NodeAssignmentEvent,
} from '@pier/contracts';
import { type Logger } from '@pier/observability';
import { type Assignment, LABELS, readLabels } from '../../domain/container-labels';
import { type NodeContainerLimits } from '../../domain/container-hardening';
import { type ObservedContainer, planReconcile, type ReconcilePlan } from '../../domain/reconcile-plan';
import { type BackoffPolicy, DEFAULT_BACKOFF } from '../../domain/restart-backoff';
import { runnableSpec } from '../../domain/runnable-spec';
import {
  type AssignmentFeed,
  type ContainerDriver,
  type InstanceEventLog,
  type NetworkProber,
  type PlatformServices,
} from '../ports';
import { ContainerChecks } from './container-checks';
import { ContainerLauncher } from './container-launcher';
import { InstanceReports } from './instance-reports';
import { InstanceRunner } from './instance-runner';
import { StrayReaper } from './stray-reaper';

export interface InstanceRuntimeDeps {
  readonly driver: ContainerDriver;
  readonly feed: AssignmentFeed;
  readonly events: InstanceEventLog;
  readonly platform: PlatformServices;
  readonly prober: NetworkProber;
  readonly logger: Logger;
}

export interface InstanceRuntimeSettings {
  readonly nodeId: string;
  /** The address reported for published ports (`InstanceStarted.host`). */
  readonly advertiseHost: string;
  /** Where ports are published and probed; only the node itself reaches it. Default 127.0.0.1. */
  readonly publishHost?: string;
  readonly backoff?: BackoffPolicy;
  /** Period of the reconcile loop; it also runs at once on every assignment change. Default 2 s. */
  readonly reconcileIntervalMs?: number;
  /** How long a stop waits for the routers to drain the instance. Default 5 s. */
  readonly drainTimeoutMs?: number;
  /** See `PIER_AGENT_BOOT_TIMEOUT_MS`; 0 turns it off. Default 60 s. */
  readonly bootTimeoutMs?: number;
  /** Grace period of a stray container before it is killed. Default 5 s. */
  readonly strayGraceSeconds?: number;
  /** How long a space's network without containers stays (see `PIER_AGENT_NETWORK_IDLE_SECONDS`). Default 300 s. */
  readonly networkIdleSeconds?: number;
  /** Limits every container gets (pids, log rotation); the launcher's defaults where absent. */
  readonly containerLimits?: NodeContainerLimits;
}

interface Desired {
  readonly assignment: Assignment;
  readonly correlationId: string;
  /** Why the assignment's spec cannot be run; its spec is then not to be read. */
  readonly refused?: string;
}

/**
 * The container runtime of one node: follows the node's assignments and reconciles the engine toward them,
 * one runner per assigned instance. A failing instance never holds up the others: runners are independent
 * and the loop only starts and stops them.
 */
export class InstanceRuntime {
  private readonly desired = new Map<string, Desired>();
  /** Instances this node was assigned and then unassigned (all of its history), with the reason. */
  private readonly unassigned = new Map<string, string>();
  private readonly active = new Map<string, InstanceRunner>();
  private readonly stopping = new Map<string, Promise<void>>();
  private readonly launcher: ContainerLauncher;
  private readonly checks: ContainerChecks;
  private readonly reaper: StrayReaper;
  private readonly log: Logger;
  private timer?: NodeJS.Timeout;
  private pass: Promise<void> | null = null;
  private again = false;
  private closed = true;
  private caughtUp = false;

  constructor(
    private readonly deps: InstanceRuntimeDeps,
    private readonly settings: InstanceRuntimeSettings,
  ) {
    const publishHost = settings.publishHost ?? '127.0.0.1';
    this.log = deps.logger.child({ nodeId: settings.nodeId });
    // Absent limits are the launcher's defaults.
    this.launcher = new ContainerLauncher(
      deps.driver,
      deps.platform,
      publishHost,
      this.log,
      settings.containerLimits,
    );
    this.checks = new ContainerChecks(deps.driver, deps.prober, publishHost);
    this.reaper = new StrayReaper(
      deps.driver,
      deps.events,
      settings.nodeId,
      settings.strayGraceSeconds ?? 5,
      this.log,
      settings.networkIdleSeconds ?? 300,
    );
  }

  /** Reads every assignment of the node, then reconciles until `shutdown`. */
  async start(): Promise<void> {
    this.closed = false;
    await this.deps.feed.start((event) => {
      // The whole history is read through here at start: an event that cannot be applied is logged and
      // skipped, never allowed to fail the start (and the agent with it).
      try {
        this.apply(event);
      } catch (error) {
        this.log.error({ err: error, type: event.type }, 'assignment event could not be applied; skipped');
      }
    });
    this.schedule(0);
  }

  /** Stops following and watching; containers keep running, instances being stopped finish stopping. */
  async shutdown(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.deps.feed.stop();
    await this.pass;
    await Promise.all([...this.active.values()].map((runner) => runner.detach()));
    this.active.clear();
    await Promise.all(this.stopping.values());
    await this.reaper.idle();
  }

  /**
   * Resolves true once the node runs nothing: every assignment read and unassigned, every instance
   * stopped and no container of the node left (what leaving the cluster waits for, the scheduler
   * unassigning each instance of a node that left); false if that is not so after `timeoutMs`.
   */
  async vacated(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (
        this.caughtUp &&
        this.desired.size === 0 &&
        this.active.size === 0 &&
        this.stopping.size === 0 &&
        (await this.deps.driver.list({ [LABELS.node]: this.settings.nodeId })).length === 0
      ) {
        return true;
      }
      if (Date.now() >= deadline) {
        this.log.warn(
          { assigned: [...this.desired.keys()], stopping: [...this.stopping.keys()] },
          'the node still runs instances',
        );
        return false;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  private apply(event: NodeAssignmentEvent): void {
    if (event.data.nodeId !== this.settings.nodeId) {
      this.log.warn({ type: event.type, nodeId: event.data.nodeId }, 'assignment for another node ignored');
      return;
    }
    if (event.type === InstanceAssigned.type) {
      this.assign(event.data, event.metadata.correlationId);
    } else if (event.type === InstancesAssigned.type) {
      for (const a of event.data.assignments)
        this.assign({ ...a, nodeId: event.data.nodeId }, event.metadata.correlationId);
    } else if (event.type === InstanceUnassigned.type) {
      this.desired.delete(event.data.instanceId);
      this.unassigned.set(event.data.instanceId, event.data.reason);
    }
    this.schedule(0);
  }

  private assign(assignment: Assignment, correlationId: string): void {
    // Specs are read as stored (see AgentEventCatalog): checked here, so that one the agent cannot run
    // fails its instance alone.
    const checked = runnableSpec(assignment.spec);
    if (!checked.ok)
      this.log.warn({ instanceId: assignment.instanceId, reason: checked.reason }, 'spec refused');
    this.desired.set(assignment.instanceId, {
      assignment: checked.ok ? { ...assignment, spec: checked.spec } : assignment,
      correlationId,
      ...(checked.ok ? {} : { refused: checked.reason }),
    });
    this.unassigned.delete(assignment.instanceId);
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    if (this.pass) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.pass = this.reconcile()
        .catch((error: unknown) => this.log.error({ err: error }, 'reconcile pass failed'))
        .finally(() => {
          this.pass = null;
          const again = this.again;
          this.again = false;
          this.schedule(again ? 0 : (this.settings.reconcileIntervalMs ?? 2000));
        });
    }, delayMs);
  }

  private async reconcile(): Promise<void> {
    const containers = await this.deps.driver.list({ [LABELS.node]: this.settings.nodeId });
    // Once every assignment written before has been read, later ones arrive as live changes.
    this.caughtUp ||= await this.deps.feed.caughtUp();
    if (this.closed) return;
    const plan = planReconcile({
      desired: new Set(this.desired.keys()),
      active: new Set(this.active.keys()),
      stopping: new Set(this.stopping.keys()),
      containers: containers.map(observed),
      caughtUp: this.caughtUp,
    });
    this.launch(plan);
    for (const instanceId of plan.stop) this.stop(instanceId);
    this.reaper.reap(plan.remove, (instanceId) => this.unassigned.has(instanceId));
  }

  private launch(plan: ReconcilePlan): void {
    for (const { instanceId, adopt } of plan.launch) {
      const { assignment, correlationId, refused } = this.desired.get(instanceId)!;
      const reports = new InstanceReports(
        this.deps.events,
        instanceId,
        this.settings.nodeId,
        correlationId,
        this.log,
      );
      const runner = new InstanceRunner(
        assignment,
        { ...this.deps, launcher: this.launcher, checks: this.checks, reports },
        {
          advertiseHost: this.settings.advertiseHost,
          backoff: this.settings.backoff ?? DEFAULT_BACKOFF,
          drainTimeoutMs: this.settings.drainTimeoutMs ?? 5000,
          bootTimeoutMs: this.settings.bootTimeoutMs ?? 60_000,
        },
        adopt,
        refused,
      );
      this.active.set(instanceId, runner);
      runner.start();
    }
  }

  private stop(instanceId: string): void {
    const runner = this.active.get(instanceId)!;
    this.active.delete(instanceId);
    const reason = this.unassigned.get(instanceId) ?? 'unassigned';
    const stopped = runner.stop(reason).finally(() => {
      this.stopping.delete(instanceId);
      this.schedule(0);
    });
    this.stopping.set(instanceId, stopped);
  }
}

function observed(c: {
  id: string;
  labels: Readonly<Record<string, string>>;
  running: boolean;
  createdAt: number;
}): ObservedContainer {
  return { id: c.id, ...readLabels(c.labels), running: c.running, createdAt: c.createdAt };
}

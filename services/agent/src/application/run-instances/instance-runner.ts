import {
  InstanceExited,
  InstanceFailed,
  InstanceNotReady,
  InstanceReady,
  InstanceStarted,
  InstanceStopped,
} from '@pier/contracts';
import { type Logger } from '@pier/observability';
import { type Assignment } from '../../domain/container-labels';
import { exitReason, reportedHostPorts, reportedProbe } from '../../domain/container-outcome';
import { type HealthEffect, type ProbeRun } from '../../domain/probe-health';
import { type ObservedContainer } from '../../domain/reconcile-plan';
import {
  type BackoffPolicy,
  type BackoffState,
  NO_FAILURES,
  nextRestart,
} from '../../domain/restart-backoff';
import { type ContainerDriver, type ContainerState, type PlatformServices } from '../ports';
import { type CheckTarget, type ContainerChecks } from './container-checks';
import { type ContainerLauncher } from './container-launcher';
import { stopGracefully } from './graceful-stop';
import { HealthMonitor } from './health-monitor';
import { type InstanceReports } from './instance-reports';

export interface RunnerDeps {
  readonly driver: ContainerDriver;
  readonly launcher: ContainerLauncher;
  readonly checks: ContainerChecks;
  readonly platform: PlatformServices;
  readonly reports: InstanceReports;
  readonly logger: Logger;
}

export interface RunnerSettings {
  readonly advertiseHost: string;
  readonly backoff: BackoffPolicy;
  readonly drainTimeoutMs: number;
  readonly bootTimeoutMs: number;
}

interface Running {
  readonly id: string;
  readonly startedAt: number;
  readonly target: CheckTarget;
}

type End = { kind: 'exit' } | { kind: 'unhealthy'; reason: string; probe: ProbeRun } | { kind: 'halt' };

/** The wait before starting again after the engine did not answer a start. */
export const ENGINE_RETRY_MS = 1000;

/** `InstanceFailed.code` of an assignment whose spec this agent cannot run (see `runnableSpec`). */
export const SPEC_INVALID = 'SPEC_INVALID';

/**
 * Runs one instance on this node for as long as it is assigned: launch, watch (exit and probes), restart
 * with back-off, and a graceful stop when it is unassigned. `detach` (the agent shutting down) leaves the
 * container running for the next agent to adopt. An instance whose spec was `refused` only reports that
 * failure (removing any container of it) and waits to be unassigned. Nothing a runner meets ends it, let
 * alone the agent: every failure is a report about the instance.
 */
export class InstanceRunner {
  private halt?: { mode: 'stop'; reason: string } | { mode: 'detach' };
  private wake!: () => void;
  private readonly halted = new Promise<void>((resolve) => (this.wake = resolve));
  private current?: Running;
  private restarts = 0;
  private backoff: BackoffState = NO_FAILURES;
  private readiness: 'unknown' | 'ready' | 'not-ready' = 'unknown';
  private lastFailure?: string;
  private done: Promise<void> = Promise.resolve();
  private readonly log: Logger;
  /**
   * No container of the instance can be on the engine: the pass that launched this runner listed none
   * and no launch has run since (one that failed may have left one behind).
   */
  private clean: boolean;

  constructor(
    private readonly assignment: Assignment,
    private readonly deps: RunnerDeps,
    private readonly settings: RunnerSettings,
    private readonly adopted: ObservedContainer | null,
    private readonly refused?: string,
  ) {
    this.log = deps.logger.child({ instanceId: assignment.instanceId });
    this.clean = adopted === null;
  }

  start(): void {
    this.done = this.run().catch((error: unknown) =>
      this.log.error({ err: error }, 'instance runner failed; the instance is no longer watched'),
    );
  }

  /** Stops the instance gracefully and resolves once `InstanceStopped` is reported. */
  stop(reason: string): Promise<void> {
    this.halt ??= { mode: 'stop', reason };
    this.wake();
    return this.done;
  }

  /** Stops watching; the container keeps running. */
  detach(): Promise<void> {
    this.halt ??= { mode: 'detach' };
    this.wake();
    return this.done;
  }

  private async run(): Promise<void> {
    const adopted = this.adopted;
    if (this.refused !== undefined) {
      const reason = this.refused;
      await this.guarded(() => this.refuse(reason, adopted));
      await this.halted;
    } else {
      if (adopted) await this.guarded(() => this.adopt(adopted));
      while (!this.halt) await this.guarded(() => this.step());
    }
    const halt = this.halt!;
    if (halt.mode === 'stop') await this.guarded(() => this.finishStop(halt.reason));
    await this.deps.reports.settle(halt.mode === 'stop' ? 30_000 : 2000);
  }

  /**
   * One turn: launch when nothing runs, else watch the container until it ends, then back off. A start
   * the engine never answered (it was restarting) is retried after `ENGINE_RETRY_MS`, off the back-off:
   * it says nothing about the app.
   */
  private async step(): Promise<void> {
    if (!this.current) {
      const launched = await this.launch();
      if (launched === 'engine-unreachable') return void (await this.pause(ENGINE_RETRY_MS));
      if (launched === 'failed') {
        const next = nextRestart(this.backoff, this.settings.backoff, 0);
        this.backoff = next.state;
        return void (await this.pause(next.delayMs));
      }
    }
    const end = await this.watch(this.current!);
    if (end.kind !== 'halt') await this.pause(await this.ended(this.current!, end));
  }

  /** An unexpected error (the engine away) never ends the runner: it is logged and the turn retried. */
  private async guarded(work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.log.error({ err: error }, 'instance runner step failed; retrying');
      await this.pause(1000);
    }
  }

  /** Reports that the spec cannot be run; a container of it (an earlier agent's) is not kept either. */
  private async refuse(reason: string, adopted: ObservedContainer | null): Promise<void> {
    this.log.warn({ reason }, 'instance refused: its spec cannot be run');
    this.deps.reports.report(InstanceFailed, { code: SPEC_INVALID, reason });
    if (adopted) await this.remove(adopted.id);
  }

  /** Takes over the container a previous agent left; its restart count carries on. */
  private async adopt(observed: ObservedContainer): Promise<void> {
    this.restarts = observed.restarts;
    const state = await this.deps.driver.inspect(observed.id);
    if (!state) {
      this.restarts++;
      return;
    }
    this.current = this.running(state);
    this.log.info({ containerId: state.id, running: state.running }, 'adopted container');
    // It ended while no agent watched: report that, then restart it like any other exit.
    if (!state.running) return void (await this.pause(await this.ended(this.current, { kind: 'exit' })));
    // The agent before was killed between starting it and storing that: without the start, the platform
    // has no address for the instance and the router never sends it anything. A start already stored is
    // not repeated: it would take a serving instance out of rotation until its next probe.
    const stored = await this.deps.reports.startedContainer().catch((error: unknown) => {
      this.log.warn({ err: error }, "could not read the instance's stored start; reporting it again");
      return null;
    });
    if (stored !== state.id) this.reportStarted(state);
  }

  private reportStarted(container: ContainerState): void {
    this.deps.reports.report(InstanceStarted, {
      containerId: container.id,
      host: this.settings.advertiseHost,
      hostPorts: reportedHostPorts(this.assignment.spec.ports, container.ports),
      restarts: this.restarts,
    });
  }

  private async launch(): Promise<'started' | 'failed' | 'engine-unreachable'> {
    const leftovers = !this.clean;
    this.clean = false;
    const result = await this.deps.launcher.launch(this.assignment, this.restarts, { leftovers });
    if (!result.ok) {
      if (this.halt) return 'failed';
      const key = `${result.code}: ${result.reason}`;
      this.log.warn({ code: result.code, reason: result.reason }, 'instance failed to start');
      if (key !== this.lastFailure) {
        this.deps.reports.report(InstanceFailed, { code: result.code, reason: result.reason });
      }
      this.lastFailure = key;
      return result.engineUnreachable ? 'engine-unreachable' : 'failed';
    }
    this.current = this.running(result.container);
    this.lastFailure = undefined;
    this.reportStarted(result.container);
    return 'started';
  }

  private running(state: ContainerState): Running {
    return {
      id: state.id,
      startedAt: state.startedAt ?? Date.now(),
      target: {
        containerId: state.id,
        specPorts: this.assignment.spec.ports,
        published: state.ports,
        addresses: state.addresses ?? [],
      },
    };
  }

  /** Until the container exits, a probe asks for a restart, or the runner is halted. */
  private async watch(running: Running): Promise<End> {
    const abort = new AbortController();
    let unhealthy!: (end: End) => void;
    const restartAsked = new Promise<End>((resolve) => (unhealthy = resolve));
    const monitor = new HealthMonitor(
      this.assignment.spec.probes,
      (action, timeoutMs) => this.deps.checks.run(action, running.target, timeoutMs),
      (effect) =>
        effect.type === 'restart'
          ? unhealthy({ kind: 'unhealthy', reason: effect.reason, probe: effect.probe })
          : this.readinessChanged(effect),
      (error) => this.log.error({ err: error }, 'health monitor error; probing goes on'),
      this.settings.bootTimeoutMs,
    );
    monitor.start(running.startedAt);
    try {
      return await Promise.race([
        this.exitOf(running.id, abort.signal),
        restartAsked,
        this.halted.then((): End => ({ kind: 'halt' })),
      ]);
    } finally {
      monitor.stop();
      abort.abort();
    }
  }

  /** Reports the transition with the probe run that caused it (none when no probe gates readiness). */
  private readinessChanged(effect: Exclude<HealthEffect, { type: 'restart' }>): void {
    const probe = effect.probe ? { probe: reportedProbe(effect.probe) } : {};
    if (effect.type === 'ready') this.deps.reports.report(InstanceReady, probe);
    else this.deps.reports.report(InstanceNotReady, { reason: effect.reason, ...probe });
    this.readiness = effect.type;
  }

  /** Resolves when the container stopped running; a lost connection to the engine is waited out. */
  private async exitOf(containerId: string, signal: AbortSignal): Promise<End> {
    for (;;) {
      try {
        await this.deps.driver.wait(containerId, signal);
        return { kind: 'exit' };
      } catch (error) {
        if (signal.aborted) return new Promise<End>(() => undefined);
        const state = await this.deps.driver.inspect(containerId).catch(() => undefined);
        if (state === null || (state && !state.running)) return { kind: 'exit' };
        this.log.warn({ err: error }, 'lost track of the container; watching it again');
        await this.pause(1000);
        if (this.halt) return { kind: 'halt' };
      }
    }
  }

  /** Reports how the container ended, removes it and returns the back-off before the next one. */
  private async ended(running: Running, end: Exclude<End, { kind: 'halt' }>): Promise<number> {
    const probe = end.kind === 'unhealthy' ? { probe: reportedProbe(end.probe) } : {};
    if (end.kind === 'unhealthy') {
      if (this.readiness !== 'not-ready') {
        this.deps.reports.report(InstanceNotReady, { reason: `restarting: ${end.reason}`, ...probe });
      }
      await this.stopContainer(running, false);
    }
    const state = await this.deps.driver.inspect(running.id).catch(() => null);
    const ranForMs = (state?.finishedAt ?? Date.now()) - running.startedAt;
    const next = nextRestart(this.backoff, this.settings.backoff, ranForMs);
    this.backoff = next.state;
    this.deps.reports.report(InstanceExited, {
      exitCode: state?.exitCode ?? null,
      oomKilled: state?.oomKilled ?? false,
      reason: end.kind === 'unhealthy' ? end.reason : exitReason(state),
      restartInMs: next.delayMs,
      ...probe,
    });
    this.log.info({ restartInMs: next.delayMs, exitCode: state?.exitCode }, 'container ended');
    await this.remove(running.id);
    this.current = undefined;
    this.restarts++;
    this.readiness = 'unknown';
    return next.delayMs;
  }

  private async finishStop(reason: string): Promise<void> {
    const running = this.current;
    let exitCode: number | null = null;
    if (running) {
      if (this.readiness !== 'not-ready') {
        this.deps.reports.report(InstanceNotReady, { reason: `stopping: ${reason}` });
        // Stored before the routers are asked to drain, so no view still shows it ready afterwards, and
        // the routers drain on a table that has it (and so what led to this stop: see `DrainInstance`).
        await this.deps.reports.flush(this.settings.drainTimeoutMs);
      }
      await this.stopContainer(running, true);
      exitCode = (await this.deps.driver.inspect(running.id).catch(() => null))?.exitCode ?? null;
      await this.remove(running.id);
      this.current = undefined;
    }
    this.deps.reports.report(InstanceStopped, { exitCode });
    this.log.info({ reason, exitCode }, 'instance stopped');
  }

  private async stopContainer(running: Running, drain: boolean): Promise<void> {
    const { spec, instanceId } = this.assignment;
    try {
      const after = this.deps.reports.position;
      await stopGracefully(
        this.deps,
        { instanceId, spec, target: running.target },
        { drain, drainTimeoutMs: this.settings.drainTimeoutMs, ...(after !== undefined ? { after } : {}) },
      );
    } catch (error) {
      this.log.warn({ err: error }, 'graceful stop failed; removing the container by force');
    }
  }

  private async remove(containerId: string): Promise<void> {
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        return await this.deps.driver.destroy(containerId);
      } catch (error) {
        this.log.warn({ err: error, containerId, attempt }, 'could not remove the container');
        await new Promise((r) => setTimeout(r, 500 * attempt));
      }
    }
  }

  /** Waits `ms`, or less when the runner is halted. */
  private async pause(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise((r) => (timer = setTimeout(r, ms))), this.halted]);
    clearTimeout(timer);
  }
}

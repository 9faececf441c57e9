import { type VersionSpec } from '@pier/contracts';
import {
  dueProbes,
  type HealthEffect,
  type HealthState,
  nextProbeAt,
  type ProbeKind,
  recordProbe,
  startHealth,
} from '../../domain/probe-health';
import { type CheckAction } from './container-checks';
import { type CheckResult } from '../ports';

type Check = (action: CheckAction, timeoutMs: number) => Promise<CheckResult>;

/**
 * Runs the probes of one container on their timers and turns the results into effects through the pure
 * rules of `probe-health`; it decides nothing itself. A check that throws or rejects counts as a failed
 * run with the error as its detail: probes run on timers nobody awaits, where an escaping error would end
 * the agent.
 */
export class HealthMonitor {
  private state?: HealthState;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly probes: VersionSpec['probes'],
    private readonly check: Check,
    private readonly onEffect: (effect: HealthEffect) => void,
    /** Told about an error of the monitor itself (an effect handler that threw); probing goes on. */
    private readonly onError: (error: unknown) => void = () => undefined,
    /** See `startHealth`; 0 or absent: none. */
    private readonly bootTimeoutMs = 0,
  ) {}

  /** Starts probing a container that started at `startedAt` (epoch ms). */
  start(startedAt: number): void {
    const step = startHealth(this.probes, startedAt, this.bootTimeoutMs);
    this.state = step.state;
    step.effects.forEach((e) => this.onEffect(e));
    this.tick();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private tick(): void {
    if (this.stopped || !this.state) return;
    clearTimeout(this.timer);
    const { state, due } = dueProbes(this.state, this.probes, Date.now());
    this.state = state;
    for (const kind of due) void this.run(kind).catch(this.onError);
    const next = nextProbeAt(state);
    if (next !== undefined) {
      this.timer = setTimeout(
        () => {
          try {
            this.tick();
          } catch (error) {
            this.onError(error);
          }
        },
        Math.max(0, next - Date.now()),
      );
    }
  }

  private async run(kind: ProbeKind): Promise<void> {
    const probe = this.probes[kind]!;
    const outcome = await this.outcomeOf(probe, probe.timeoutSeconds * 1000);
    if (this.stopped || !this.state) return;
    const step = recordProbe(this.state, this.probes, kind, outcome, Date.now());
    this.state = step.state;
    try {
      step.effects.forEach((e) => this.onEffect(e));
    } finally {
      this.tick();
    }
  }

  private async outcomeOf(action: CheckAction, timeoutMs: number): Promise<CheckResult> {
    try {
      const result = await this.check(action, timeoutMs);
      return {
        ok: result.ok === true,
        detail: String(result.detail),
        ...(result.portMappingLost === true && result.ok !== true ? { portMappingLost: true } : {}),
        ...(result.refused === true && result.ok !== true ? { refused: true } : {}),
      };
    } catch (error) {
      return { ok: false, detail: `the check failed: ${(error as Error)?.message ?? String(error)}` };
    }
  }
}

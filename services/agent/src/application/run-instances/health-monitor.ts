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
 * rules of `probe-health`; it decides nothing itself.
 */
export class HealthMonitor {
  private state?: HealthState;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly probes: VersionSpec['probes'],
    private readonly check: Check,
    private readonly onEffect: (effect: HealthEffect) => void,
  ) {}

  /** Starts probing a container that started at `startedAt` (epoch ms). */
  start(startedAt: number): void {
    const step = startHealth(this.probes, startedAt);
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
    for (const kind of due) void this.run(kind);
    const next = nextProbeAt(state);
    if (next !== undefined) this.timer = setTimeout(() => this.tick(), Math.max(0, next - Date.now()));
  }

  private async run(kind: ProbeKind): Promise<void> {
    const probe = this.probes[kind]!;
    const outcome = await this.check(probe, probe.timeoutSeconds * 1000);
    if (this.stopped || !this.state) return;
    const step = recordProbe(this.state, this.probes, kind, outcome, Date.now());
    this.state = step.state;
    step.effects.forEach((e) => this.onEffect(e));
    this.tick();
  }
}

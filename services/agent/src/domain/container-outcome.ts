import { type ProbeResult, probeResultSchema, type VersionSpec } from '@pier/contracts';
import { type ProbeRun } from './probe-health';

/**
 * The host ports to report for a started container: each port of the version with the host port the
 * engine published it on (`http` ports are TCP to the engine). A port the engine did not publish (the
 * container exited at once) is left out rather than reported with a made-up number.
 */
export function reportedHostPorts(
  ports: VersionSpec['ports'],
  published: readonly { containerPort: number; protocol: 'tcp' | 'udp'; hostPort: number }[],
): { containerPort: number; protocol: 'http' | 'tcp' | 'udp'; hostPort: number }[] {
  return ports.flatMap((p) => {
    const protocol = p.protocol === 'udp' ? 'udp' : 'tcp';
    const match = published.find((q) => q.containerPort === p.containerPort && q.protocol === protocol);
    return match ? [{ ...p, hostPort: match.hostPort }] : [];
  });
}

/** Why a container ended, as the instance's reason: the OOM killer and engine errors named as such. */
export function exitReason(
  state: { oomKilled: boolean; error: string; exitCode: number | null } | null,
): string {
  if (!state) return 'the container disappeared';
  if (state.oomKilled) return 'OOMKilled';
  if (state.error) return `the container failed: ${state.error}`;
  return `exited with code ${state.exitCode}`;
}

const PROBE_DETAIL_MAX = probeResultSchema.shape.detail.maxLength ?? 1000;

/**
 * A probe run as a transition reports it. A detail can outgrow what the event holds (an exec probe
 * shows its whole command): it is cut, so the event is still valid and its transition is not lost.
 */
export function reportedProbe(run: ProbeRun): ProbeResult {
  const detail =
    run.detail.length > PROBE_DETAIL_MAX ? `${run.detail.slice(0, PROBE_DETAIL_MAX - 1)}…` : run.detail;
  return { kind: run.kind, ok: run.ok, detail };
}

import { type VersionSpec } from '@pier/contracts';
import { type Logger } from '@pier/observability';
import { type ContainerDriver, type DrainOutcome, type PlatformServices } from '../ports';
import { type CheckTarget, type ContainerChecks } from './container-checks';

/** The longest a preStop hook may take, like the kubelet's own bound. */
const PRE_STOP_CAP_MS = 30_000;

export interface GracefulStopDeps {
  readonly driver: Pick<ContainerDriver, 'stop'>;
  readonly platform: PlatformServices;
  readonly checks: ContainerChecks;
  readonly logger: Logger;
}

/**
 * Stops a container the way Kubernetes does: out of the routers first (bounded: no router, or none that
 * answers in time, does not hold a stop up), then the preStop hook, then SIGTERM and SIGKILL once the
 * grace period, preStop included, is over.
 */
export async function stopGracefully(
  deps: GracefulStopDeps,
  instance: { instanceId: string; spec: VersionSpec; target: CheckTarget },
  options: { drain: boolean; drainTimeoutMs: number; after?: number },
): Promise<void> {
  const log = deps.logger.child({ instanceId: instance.instanceId });
  if (options.drain) {
    const outcome = await deps.platform
      .drainInstance(instance.instanceId, options.drainTimeoutMs, options.after)
      .catch((): DrainOutcome => 'failed');
    log.info({ outcome }, 'drain before stop');
  }
  const graceMs = instance.spec.stop.gracePeriodSeconds * 1000;
  const began = Date.now();
  const preStop = instance.spec.stop.preStop;
  if (preStop && graceMs > 0) {
    // The tenant's hook: whatever it does, the container is stopped after it.
    const result = await deps.checks
      .run(preStop, instance.target, Math.min(graceMs, PRE_STOP_CAP_MS))
      .catch((error: unknown) => ({ ok: false, detail: (error as Error)?.message ?? String(error) }));
    if (!result.ok) log.warn({ detail: result.detail }, 'preStop hook failed; stopping anyway');
  }
  const remainingSeconds = Math.max(0, (graceMs - (Date.now() - began)) / 1000);
  await deps.driver.stop(instance.target.containerId, remainingSeconds);
}

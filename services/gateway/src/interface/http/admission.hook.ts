import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type ErrorBody } from '@pier/contracts';
import { counter, Gauge, type Registry } from '@pier/observability';
import { type FastifyInstance, type FastifyRequest } from 'fastify';
import { AdmissionLimiter, type AdmissionOptions } from '../../domain/admission';

export type CallClass = 'read' | 'write';

export interface AdmissionConfig {
  readonly read: AdmissionOptions;
  readonly write: AdmissionOptions;
  /**
   * The process's event loop delay (p99 over each 250 ms) above which both limits shrink (0: never): the
   * gateway's own process is congested (in the one-process layout, by every service it hosts), and a
   * refusal waits behind everything on the loop.
   */
  readonly eventLoopDelayTargetMs: number;
  /** What `Retry-After` tells a refused caller, in seconds. */
  readonly retryAfterSeconds: number;
}

const API_PREFIX = '/api/v1/';

/**
 * Admission control of the public API (`domain/admission.ts`): every call of a matched API route is
 * admitted by the limiter of its class — reads (GET, HEAD) and writes (the rest) — before anything else
 * is done for it, authentication included. A refused call is answered at once with 503 API_OVERLOADED
 * and `Retry-After`, and is not audited: nothing was looked at or acted on (a metric counts them).
 * Operational endpoints and unknown routes are not limited (they cost the services nothing). Both limits
 * also shrink while the process's event loop runs late (`eventLoopDelayTargetMs`).
 */
export function installAdmission(fastify: FastifyInstance, config: AdmissionConfig, metrics: Registry): void {
  const limiters: Record<CallClass, AdmissionLimiter> = {
    read: new AdmissionLimiter(config.read),
    write: new AdmissionLimiter(config.write),
  };
  const refused = counter(metrics, {
    name: 'pier_api_admission_refused_total',
    help: 'API calls refused by admission control (503 API_OVERLOADED), by class and reason',
    labelNames: ['class', 'reason'],
  });
  for (const [name, help, value] of [
    ['pier_api_admission_limit', 'API calls admission control lets run at once, by class', 'limit'],
    ['pier_api_admission_active', 'API calls running, by class', 'active'],
    ['pier_api_admission_waiting', 'API calls waiting for admission, by class', 'waiting'],
  ] as const) {
    new Gauge({
      name,
      help,
      labelNames: ['class'],
      registers: [metrics],
      collect() {
        for (const c of ['read', 'write'] as const) this.set({ class: c }, limiters[c][value]);
      },
    });
  }
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let watched = performance.now();
  const watch = setInterval(() => {
    const p99 = delay.percentile(99) / 1e6;
    const now = performance.now();
    delay.reset();
    // Over the time since the last look, which a blocked loop stretches past the interval.
    if (config.eventLoopDelayTargetMs > 0 && p99 > config.eventLoopDelayTargetMs)
      for (const limiter of Object.values(limiters)) limiter.congested(now - watched);
    watched = now;
  }, 250);
  watch.unref();
  fastify.addHook('onClose', async () => {
    clearInterval(watch);
    delay.disable();
  });
  const body = JSON.stringify({
    error: {
      code: 'API_OVERLOADED',
      message: 'the API is taking all the calls it can carry out now; try again after Retry-After seconds',
      details: { retryAfterSeconds: config.retryAfterSeconds },
    } satisfies ErrorBody,
  });

  fastify.addHook('onRequest', async (request, reply) => {
    const callClass = classOf(request);
    if (!callClass) return;
    const admission = await limiters[callClass].acquire();
    if (!admission.admitted) {
      refused.inc({ class: callClass, reason: admission.reason });
      request.pierErrorCode = 'API_OVERLOADED';
      return reply
        .code(503)
        .header('retry-after', String(config.retryAfterSeconds))
        .header('content-type', 'application/json; charset=utf-8')
        .send(body);
    }
    const admitted = performance.now();
    reply.raw.once('close', () => admission.release(performance.now() - admitted));
    return undefined;
  });
}

function classOf(request: FastifyRequest): CallClass | undefined {
  const route = request.routeOptions.url;
  if (!route?.startsWith(API_PREFIX) || request.is404) return undefined;
  return request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'write';
}

import { Controller, Get, Header, HttpCode, Inject, Res } from '@nestjs/common';
import { type Registry } from '@pier/observability';
import { type FastifyReply } from 'fastify';

/** A readiness check: resolves when the dependency answers, throws otherwise. */
export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<void>;
}

export const METRICS_REGISTRY = Symbol('MetricsRegistry');
export const READINESS_CHECKS = Symbol('ReadinessChecks');

/**
 * Operational endpoints every service exposes: `/healthz` (the process answers), `/readyz` (its
 * dependencies answer) and `/metrics` (Prometheus text format). A service lists it among its
 * controllers and provides `METRICS_REGISTRY` and `READINESS_CHECKS`.
 */
@Controller()
export class OpsController {
  constructor(
    @Inject(METRICS_REGISTRY) private readonly registry: Registry,
    @Inject(READINESS_CHECKS) private readonly checks: readonly ReadinessCheck[],
  ) {}

  @Get('healthz')
  @HttpCode(200)
  health() {
    return { status: 'ok' };
  }

  @Get('readyz')
  async ready(@Res() reply: FastifyReply) {
    const results = await Promise.all(
      this.checks.map(async (c) => {
        try {
          await withTimeout(c.check(), 2000);
          return [c.name, 'ok'] as const;
        } catch (error) {
          return [c.name, `failing: ${(error as Error).message}`] as const;
        }
      }),
    );
    const ok = results.every(([, r]) => r === 'ok');
    await reply
      .status(ok ? 200 : 503)
      .send({ status: ok ? 'ready' : 'not ready', checks: Object.fromEntries(results) });
  }

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  metrics() {
    return this.registry.metrics();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
    promise.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e: unknown) => (clearTimeout(timer), reject(e instanceof Error ? e : new Error(String(e)))),
    );
  });
}

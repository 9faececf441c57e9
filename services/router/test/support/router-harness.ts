import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type NatsConnection } from '@nats-io/transport-node';
import { type PierEvent } from '@pier/contracts';
import { type EventStore } from '@pier/eventstore';
import { createLogger } from '@pier/observability';
import { METRICS_REGISTRY } from '@pier/nest';
import { type Registry } from '@pier/observability';
import { deleteStreams, freePort } from '@pier/testing';
import { ROUTER_DATA_PLANE, RouterModule, routerConfigSchema } from '../../src';
import { RouteSynchronizer } from '../../src/application/sync-routes/route-synchronizer';
import { type HaproxyDriver } from '../../src/infrastructure/haproxy/haproxy.driver';
import { aggregateOf } from './runtime-events';

/** Where one test file's router listens and keeps its state. */
export interface RouterSetup {
  readonly prefix: string;
  readonly stateDir: string;
  readonly httpPort: number;
  readonly httpsPort: number;
  readonly metricsPort: number;
}

export async function routerSetup(prefix: string): Promise<RouterSetup> {
  return {
    prefix,
    // Short: HAProxy's unix sockets live there.
    stateDir: await mkdtemp(join(tmpdir(), 'pier-rt-')),
    httpPort: await freePort(),
    httpsPort: await freePort(),
    metricsPort: await freePort(),
  };
}

export interface RouterUnderTest {
  readonly app: INestApplicationContext;
  readonly driver: HaproxyDriver;
  readonly routes: RouteSynchronizer;
  /** The service's own metrics, in Prometheus' text format (what `/metrics` on the ops port serves). */
  metrics(): Promise<string>;
  close(): Promise<void>;
}

/**
 * Starts the router service in-process, as `main.ts` would (without the HTTP ops listener); `env` adds
 * or overrides settings.
 */
export async function startRouter(
  setup: RouterSetup,
  env: Record<string, string> = {},
): Promise<RouterUnderTest> {
  const config = routerConfigSchema.parse({
    PIER_PREFIX: setup.prefix,
    PIER_ROUTER_STATE_DIR: setup.stateDir,
    PIER_ROUTER_HTTP_PORT: String(setup.httpPort),
    PIER_ROUTER_HTTPS_PORT: String(setup.httpsPort),
    PIER_ROUTER_METRICS_PORT: String(setup.metricsPort),
    PIER_ROUTER_STOP_GRACE_MS: '2000',
    ...env,
  });
  const app = await NestFactory.createApplicationContext(
    RouterModule.forRoot(config, createLogger('router', process.env.PIER_TEST_LOG_LEVEL ?? 'silent')),
    { logger: false },
  );
  await app.init();
  return {
    app,
    driver: app.get<HaproxyDriver>(ROUTER_DATA_PLANE),
    routes: app.get(RouteSynchronizer),
    metrics: () => app.get<Registry>(METRICS_REGISTRY).metrics(),
    close: () => app.close(),
  };
}

export async function removeState(setup: RouterSetup): Promise<void> {
  await rm(setup.stateDir, { recursive: true, force: true });
}

/**
 * Ends one test file's router: the router (and its HAProxy), the backends standing in for instances,
 * the file's streams and NATS connection, and its state directory.
 */
export async function tearDownRouter(
  setup: RouterSetup,
  nc: NatsConnection,
  router: RouterUnderTest | undefined,
  backends: readonly ({ close(): Promise<void> } | undefined)[],
): Promise<void> {
  await router?.close();
  await Promise.all(backends.map((b) => b?.close()));
  await deleteStreams(nc, setup.prefix);
  await nc.close();
  await removeState(setup);
}

/** Appends events as the scheduler and the agents would, each to its own aggregate, in order. */
export async function publish(store: EventStore<PierEvent>, ...events: PierEvent[]): Promise<void> {
  for (const event of events) {
    const { type, id } = aggregateOf(event);
    await store.append(type, id, [event], 'any');
  }
}

import { randomUUID } from 'node:crypto';
import {
  APP,
  AppCreated,
  AppDeleted,
  AppDeletionRequested,
  AppDomainAdded,
  AppDomainRemoved,
  appId,
  AppStickySessionsSet,
  createMessage,
  INSTANCE,
  InstanceExited,
  InstanceFailed,
  InstanceNotReady,
  InstanceReady,
  InstanceRequested,
  InstanceStarted,
  InstanceStopped,
  InstanceStopRequested,
  type MessageDefinition,
  type PierEvent,
  pierEvents,
  TrafficSet,
  VersionCreated,
} from '@pier/contracts';
import { type z } from 'zod';

export const CLUSTER_ID = '00000000-0000-4000-8000-000000000001';

/** An event as the scheduler or an agent would append it, read back through the catalog (defaults applied). */
function event<D extends MessageDefinition>(definition: D, data: z.input<D['schema']>): PierEvent {
  const id = randomUUID();
  const message = createMessage(
    definition,
    data,
    { messageId: id, correlationId: id, actor: { kind: 'service', id: 'test' } },
    new Date().toISOString(),
  );
  return pierEvents.parse(JSON.parse(new TextDecoder().decode(pierEvents.serialize(message as PierEvent))));
}

/** Builders for the runtime events the router reads. */
export const runtime = {
  appCreated: (space: string, app: string, defaultDomain = `${app}.${space}.pier.localhost`) =>
    event(AppCreated, { space, app, clusterId: CLUSTER_ID, defaultDomain }),
  domainAdded: (space: string, app: string, host: string) => event(AppDomainAdded, { space, app, host }),
  domainRemoved: (space: string, app: string, host: string) => event(AppDomainRemoved, { space, app, host }),
  deletionRequested: (space: string, app: string) => event(AppDeletionRequested, { space, app }),
  appDeleted: (space: string, app: string) => event(AppDeleted, { space, app }),
  versionCreated: (
    space: string,
    app: string,
    version: number,
    ports: { containerPort: number; protocol: 'http' | 'tcp' | 'udp' }[] = [
      { containerPort: 8080, protocol: 'http' },
    ],
    spec: { maxConcurrentRequests?: number } = {},
  ) => event(VersionCreated, { space, app, version, spec: { image: 'registry.test/app:1', ports, ...spec } }),
  /** Weights in percent by version, as hundredths. */
  trafficSet: (space: string, app: string, percent: Record<number, number>) =>
    event(TrafficSet, {
      space,
      app,
      weights: Object.fromEntries(Object.entries(percent).map(([v, p]) => [v, Math.round(p * 100)])),
    }),
  stickySessionsSet: (space: string, app: string, enabled: boolean) =>
    event(AppStickySessionsSet, { space, app, enabled }),
  instanceRequested: (instanceId: string, space: string, app: string, version: number) =>
    event(InstanceRequested, { instanceId, space, app, version, clusterId: CLUSTER_ID, replaces: null }),
  instanceStarted: (
    instanceId: string,
    hostPort: number,
    options: { host?: string; containerPort?: number; restarts?: number; extra?: boolean } = {},
  ) =>
    event(InstanceStarted, {
      instanceId,
      containerId: `c-${instanceId.slice(0, 8)}`,
      host: options.host ?? '127.0.0.1',
      hostPorts: [
        ...(options.extra ? [{ containerPort: 9000, protocol: 'tcp' as const, hostPort: 1 }] : []),
        { containerPort: options.containerPort ?? 8080, protocol: 'http' as const, hostPort },
      ],
      restarts: options.restarts ?? 0,
    }),
  instanceReady: (instanceId: string) => event(InstanceReady, { instanceId }),
  instanceNotReady: (instanceId: string) => event(InstanceNotReady, { instanceId, reason: 'probe failed' }),
  instanceExited: (instanceId: string) =>
    event(InstanceExited, { instanceId, exitCode: 1, oomKilled: false, reason: 'exited', restartInMs: 100 }),
  instanceFailed: (instanceId: string) =>
    event(InstanceFailed, { instanceId, code: 'IMAGE_PULL_FAILED', reason: 'no such image' }),
  stopRequested: (instanceId: string) => event(InstanceStopRequested, { instanceId, reason: 'scale-down' }),
  instanceStopped: (instanceId: string) => event(InstanceStopped, { instanceId, exitCode: 0 }),
};

/** The aggregate an event belongs to: apps (and their versions) or instances. */
export function aggregateOf(e: PierEvent): { type: string; id: string } {
  const data = e.data as { instanceId?: string; space?: string; app?: string };
  if (e.type.startsWith('Instance')) return { type: INSTANCE, id: data.instanceId! };
  return { type: APP, id: appId(data.space!, data.app!) };
}

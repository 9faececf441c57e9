import { appId, type PierEvent, type RuntimeEvent } from '@pier/contracts';
import { Draft } from './route-table.draft';

/** Where an instance's HTTP port is reachable: the node's advertised host and the published port. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/** An instance the router knows about, from `InstanceRequested` until `InstanceStopped`. */
export interface InstanceRoute {
  readonly instanceId: string;
  /** `<space>_<app>` (see `appId`). */
  readonly appId: string;
  readonly version: number;
  /** Address of the version's HTTP port, from the latest `InstanceStarted`; null before, or without one. */
  readonly endpoint: Endpoint | null;
  /** The last readiness fact: `InstanceReady` sets it, not-ready, exit and failure clear it. */
  readonly ready: boolean;
  /**
   * Ready at least once since its container last started, and running since: `InstanceReady` sets it, a
   * (re)start, an exit or a failure clears it, a failed readiness probe does not. Such an instance may
   * carry traffic in panic (see `panicOf`); one that never became ready may not.
   */
  readonly servedBefore: boolean;
  /** A stop was requested (or a drain asked for): out of rotation for good. */
  readonly stopping: boolean;
}

/** One version of an app as routing sees it. */
export interface VersionRoute {
  readonly version: number;
  /** Container port of the version's first `http` port; null: the version gets no HTTP traffic. */
  readonly httpPort: number | null;
  /** Requests one instance takes at once (the spec's `maxConcurrentRequests`); null: the router's default. */
  readonly maxConcurrentRequests: number | null;
  /**
   * Instance ids by slot: an instance takes the lowest free slot when it first starts and frees it when
   * it stops or fails. Slots never move and the list never shrinks (its length is the high-water mark),
   * so every router replaying the same events numbers instances the same way: the data plane's server
   * slots and sticky cookies stay stable across restarts and replicas.
   */
  readonly slots: readonly (string | null)[];
}

export interface AppRoute {
  readonly space: string;
  readonly app: string;
  readonly defaultDomain: string;
  /** Custom domains, lowercase, in the order they were added. */
  readonly domains: readonly string[];
  /** Deletion has started: the app is no longer routed. */
  readonly deleting: boolean;
  /** Sticky sessions: a client keeps its version and instance (cookie), from the latest `AppStickySessionsSet`. */
  readonly stickySessions: boolean;
  /** Hundredths of a percent by version, from the latest `TrafficSet`. */
  readonly weights: ReadonlyMap<number, number>;
  readonly versions: ReadonlyMap<number, VersionRoute>;
}

/** Everything the router serves, as a pure fold of runtime events. */
export interface RouteTable {
  /** By app id (`<space>_<app>`). */
  readonly apps: ReadonlyMap<string, AppRoute>;
  /** By instance id. */
  readonly instances: ReadonlyMap<string, InstanceRoute>;
}

export function emptyRouteTable(): RouteTable {
  return { apps: new Map(), instances: new Map() };
}

/** Whether an instance should get new requests now. */
export function inRotation(instance: InstanceRoute): boolean {
  return instance.ready && !instance.stopping && instance.endpoint !== null;
}

/** Whether an instance may be sent requests in panic: running, not stopping, and ready since it started. */
export function panicEligible(instance: InstanceRoute): boolean {
  return instance.servedBefore && !instance.stopping && instance.endpoint !== null;
}

/**
 * The panic threshold (as Envoy's): when readiness failures leave a version with no instance in
 * rotation, a probe timing out under load would otherwise turn a slow app into an outage. The version
 * then keeps every running instance that had been ready since it started; instances that never became
 * ready (still starting) get nothing. Returns the instances kept, none when the version is not in panic.
 */
export function panicOf(table: RouteTable, version: VersionRoute): InstanceRoute[] {
  const instances = version.slots.flatMap((id) => {
    const instance = id ? table.instances.get(id) : undefined;
    return instance ? [instance] : [];
  });
  if (instances.some(inRotation)) return [];
  return instances.filter(panicEligible);
}

/** A version in panic: its app and how many instances it keeps sending to. */
export interface VersionPanic {
  readonly space: string;
  readonly app: string;
  readonly version: number;
  readonly instances: number;
}

/** Every version of an app being served that is in panic, in app and version order. */
export function panics(table: RouteTable): VersionPanic[] {
  const found: VersionPanic[] = [];
  for (const app of [...table.apps.values()].sort((a, b) =>
    appId(a.space, a.app) < appId(b.space, b.app) ? -1 : 1,
  )) {
    if (app.deleting) continue;
    for (const version of [...app.versions.values()].sort((a, b) => a.version - b.version)) {
      const kept = panicOf(table, version).length;
      if (kept > 0) found.push({ space: app.space, app: app.app, version: version.version, instances: kept });
    }
  }
  return found;
}

/** The hosts an app answers on: its default domain first, then its custom domains. */
export function hostsOf(app: AppRoute): string[] {
  return [app.defaultDomain, ...app.domains];
}

/** Applies one event. Events of other contexts and unknown aggregates leave the table as it was. */
export function evolve(table: RouteTable, event: PierEvent): RouteTable {
  return evolveAll(table, [event]);
}

/**
 * Applies events in order: the same result as folding them one by one with `evolve`, but every map is
 * copied at most once per call, so replaying a long history costs time linear in its length.
 */
export function evolveAll(table: RouteTable, events: Iterable<PierEvent>): RouteTable {
  const draft = new Draft(table);
  for (const event of events) apply(draft, event as RuntimeEvent);
  return draft.finish();
}

/** Takes an instance out of rotation for good (a stop was requested, or a drain asked for). */
export function drainInstance(table: RouteTable, instanceId: string): RouteTable {
  const draft = new Draft(table);
  drain(draft, instanceId);
  return draft.finish();
}

function apply(draft: Draft, e: RuntimeEvent): void {
  switch (e.type) {
    case 'AppCreated': {
      const id = appId(e.data.space, e.data.app);
      draft.dropInstancesOf(id);
      draft.setApp(id, {
        space: e.data.space,
        app: e.data.app,
        defaultDomain: e.data.defaultDomain.toLowerCase(),
        domains: [],
        deleting: false,
        stickySessions: false,
        weights: new Map(),
        versions: new Map(),
      });
      return;
    }
    case 'AppDomainAdded':
      return draft.updateApp(e.data, (app) => {
        const host = e.data.host.toLowerCase();
        return app.domains.includes(host) ? app : { ...app, domains: [...app.domains, host] };
      });
    case 'AppDomainRemoved':
      return draft.updateApp(e.data, (app) => {
        const host = e.data.host.toLowerCase();
        return app.domains.includes(host) ? { ...app, domains: app.domains.filter((d) => d !== host) } : app;
      });
    case 'AppDeletionRequested':
      return draft.updateApp(e.data, (app) => (app.deleting ? app : { ...app, deleting: true }));
    case 'AppDeleted': {
      const id = appId(e.data.space, e.data.app);
      draft.dropInstancesOf(id);
      draft.deleteApp(id);
      return;
    }
    case 'VersionCreated':
      return draft.updateApp(e.data, (app) => {
        const http = e.data.spec.ports.find((p) => p.protocol === 'http');
        const versions = new Map(app.versions);
        versions.set(e.data.version, {
          version: e.data.version,
          httpPort: http?.containerPort ?? null,
          maxConcurrentRequests: e.data.spec.maxConcurrentRequests ?? null,
          slots: [],
        });
        return { ...app, versions };
      });
    case 'VersionDeleted':
      draft.updateApp(e.data, (app) => {
        if (!app.versions.has(e.data.version)) return app;
        const versions = new Map(app.versions);
        versions.delete(e.data.version);
        return { ...app, versions };
      });
      draft.dropInstancesOf(appId(e.data.space, e.data.app), e.data.version);
      return;
    case 'TrafficSet':
      return draft.updateApp(e.data, (app) => ({
        ...app,
        weights: new Map(
          Object.entries(e.data.weights)
            .map(([version, weight]) => [Number(version), weight] as const)
            .filter(([version]) => Number.isInteger(version) && version > 0),
        ),
      }));
    case 'AppStickySessionsSet':
      return draft.updateApp(e.data, (app) =>
        app.stickySessions === e.data.enabled ? app : { ...app, stickySessions: e.data.enabled },
      );
    case 'InstanceRequested': {
      const id = appId(e.data.space, e.data.app);
      if (!draft.apps.has(id)) return;
      draft.setInstance({
        instanceId: e.data.instanceId,
        appId: id,
        version: e.data.version,
        endpoint: null,
        ready: false,
        servedBefore: false,
        stopping: false,
      });
      return;
    }
    case 'InstanceStarted':
      return started(draft, e.data);
    case 'InstanceReady':
      return draft.updateInstance(e.data.instanceId, (i) =>
        i.ready && i.servedBefore ? i : { ...i, ready: true, servedBefore: true },
      );
    case 'InstanceNotReady':
      return draft.updateInstance(e.data.instanceId, (i) => (i.ready ? { ...i, ready: false } : i));
    case 'InstanceExited':
      return draft.updateInstance(e.data.instanceId, notRunning);
    case 'InstanceFailed':
      draft.updateInstance(e.data.instanceId, notRunning);
      draft.freeSlot(e.data.instanceId);
      return;
    case 'InstanceStopRequested':
      return drain(draft, e.data.instanceId);
    case 'InstanceStopped':
      draft.freeSlot(e.data.instanceId);
      draft.deleteInstance(e.data.instanceId);
      return;
    default:
      return;
  }
}

/** The container is gone (exited, failed): neither ready nor running. */
function notRunning(instance: InstanceRoute): InstanceRoute {
  return instance.ready || instance.servedBefore
    ? { ...instance, ready: false, servedBefore: false }
    : instance;
}

function drain(draft: Draft, instanceId: string): void {
  draft.updateInstance(instanceId, (i) => (i.stopping ? i : { ...i, stopping: true, ready: false }));
}

function started(draft: Draft, data: Extract<RuntimeEvent, { type: 'InstanceStarted' }>['data']): void {
  const instance = draft.instances.get(data.instanceId);
  if (!instance) return;
  const version = draft.apps.get(instance.appId)?.versions.get(instance.version);
  const published =
    version?.httpPort == null
      ? undefined
      : data.hostPorts.find((p) => p.protocol === 'http' && p.containerPort === version.httpPort);
  // A (re)started container is not ready until its readiness passes, and a restart publishes a new port.
  draft.setInstance({
    ...instance,
    endpoint: published ? { host: data.host, port: published.hostPort } : null,
    ready: false,
    servedBefore: false,
  });
  if (published && !instance.stopping) draft.takeSlot(instance);
}

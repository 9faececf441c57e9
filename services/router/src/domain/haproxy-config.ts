import { CELL_BUCKETS, hostsMap, routesMap, SHARED_CELL, SPLIT } from './haproxy-maps';
import {
  type AppRoute,
  type Endpoint,
  inRotation,
  panicEligible,
  panicOf,
  type RouteTable,
  type VersionRoute,
} from './route-table';
import { routableVersions, TRAFFIC_BUCKETS } from './traffic-split';

/** What the rendered configuration depends on besides the route table. */
export interface HaproxySettings {
  /** Address and port of the HTTP frontend. */
  readonly bind: string;
  readonly httpPort: number;
  /** Address and port of the Prometheus exporter (`/metrics`). */
  readonly metricsBind: string;
  readonly metricsPort: number;
  /** The worker's runtime API socket. */
  readonly statsSocket: string;
  /**
   * The Unix socket through which a worker replaced by a reload hands every request it still gets (on
   * a keep-alive connection it holds) to the current worker, which routes it with the newest table.
   */
  readonly handoffSocket: string;
  /** The host → app map file the configuration reads. */
  readonly hostsMapFile: string;
  /** The map from an app (and a traffic bucket, a sticky version) to its backend. */
  readonly routesMapFile: string;
  /** Fewest server slots of a version backend; more come in powers of two. */
  readonly minSlots: number;
  /**
   * How long a worker replaced by a reload may keep serving its open connections (WebSockets, SSE):
   * until the last one closes or `timeout tunnel` ends it, at most this long.
   */
  readonly hardStopAfterSeconds: number;
  /** HAProxy's threads; 0: HAProxy's own choice, one per CPU it may run on when it starts. */
  readonly threads: number;
  /**
   * Requests one instance is sent at once, unless its version's spec says otherwise
   * (`maxConcurrentRequests`); the others wait in HAProxy's queue.
   */
  readonly serverMaxconn: number;
  /** How long a request may wait in the queue for an instance before it is answered 503 APP_OVERLOADED. */
  readonly queueTimeoutMs: number;
  /**
   * Addresses (IPs or CIDRs) of proxies in front of the router whose `X-Forwarded-*`, `Forwarded` and
   * `X-Real-IP` headers are believed; from anyone else these headers are replaced.
   */
  readonly trustedProxies: readonly string[];
}

/** One server slot of a version backend, as the runtime API addresses it. */
export interface HaproxyServer {
  readonly backend: string;
  readonly name: string;
  /** The instance holding the slot, if any. */
  readonly instanceId: string | null;
  readonly endpoint: Endpoint | null;
  /** In rotation (or kept in panic): `ready` in HAProxy; otherwise in maintenance. */
  readonly enabled: boolean;
}

/** A map file of the configuration and its content (`<key> <value>` lines). */
export interface HaproxyMap {
  readonly path: string;
  readonly content: string;
}

/** A complete data-plane configuration. */
export interface HaproxyConfig {
  /** `haproxy.cfg`, with the current membership rendered in (a reload starts with it). */
  readonly text: string;
  /** The hosts map: `<host> <space>_<app>` per line. */
  readonly hostsMap: string;
  /** The routes map (see `routesMap`). */
  readonly routesMap: string;
  /** Every map file the configuration reads: the hosts map, then the routes map. */
  readonly maps: readonly HaproxyMap[];
  /**
   * Everything except server addresses and states and the maps' contents (hosts, weights). Two
   * configurations with the same layout differ only in what the runtime API can set, so going from one
   * to the other needs no reload.
   */
  readonly layout: string;
  readonly servers: readonly HaproxyServer[];
}

/** The backend of one version of an app. Names are unambiguous: DNS labels hold no dot. */
export const versionBackend = (app: { space: string; app: string }, version: number): string =>
  `${app.space}.${app.app}.v${version}`;
/** The backend answering 503 for an app without a ready instance (counted per app by the exporter). */
export const unavailableBackend = (app: { space: string; app: string }): string =>
  `${app.space}.${app.app}.unavailable`;
export const NOT_FOUND_BACKEND = 'pier.not-found';
/** The backend of a replaced worker: the current worker, over the handoff socket. */
export const HANDOFF_BACKEND = 'pier.handoff';
/** The sticky-session cookie of an app; its value is `<version>.<server>`. */
export const stickyCookie = (app: { space: string; app: string }): string => `pier_${app.space}_${app.app}`;

/** The JSON error body of an app whose instances are all busy: the queue for them timed out. */
export function appOverloadedBody(app: { space: string; app: string }): string {
  return JSON.stringify({
    error: {
      code: 'APP_OVERLOADED',
      message: `no instance of app ${app.app} in space ${app.space} took the request in time (all busy, or failing); try again shortly`,
      details: { space: app.space, app: app.app },
    },
  });
}

/** The JSON error body of an app without a ready instance. */
export function noReadyInstanceBody(app: { space: string; app: string }): string {
  return JSON.stringify({
    error: {
      code: 'NO_READY_INSTANCE',
      message: `no instance of app ${app.app} in space ${app.space} is ready`,
      details: { space: app.space, app: app.app },
    },
  });
}

/** The 404 body as an HAProxy log-format string: the request's host, JSON-escaped by HAProxy. */
export const ROUTE_NOT_FOUND_FORMAT =
  '{"error":{"code":"ROUTE_NOT_FOUND","message":"no app is served at this host",' +
  '"details":{"host":"%[var(txn.pier_host),json(utf8s)]"}}}';

/** The version backends' idempotent methods: only these are retried once a request was sent. */
export const IDEMPOTENT_METHODS = ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'] as const;

/**
 * Renders the HAProxy configuration of a route table. Pure: the same table and settings give the same
 * text, byte for byte.
 *
 * A request is routed by its `Host` (port ignored, case-insensitive) through the hosts map to an app,
 * then through the routes map to a backend: for apps with sticky sessions by the version in its cookie
 * first, else directly when all of the app's traffic goes to one backend, else by a random bucket in
 * [0, 10000). The router resolves in the map what has no usable server: a version without one spills to
 * the app's other weighted versions, heaviest first, and with none left the app answers 503. A request
 * costs a few tree lookups however many apps there are (a rule per app made it grow with them). Within
 * a version, round robin over its servers, each taking `serverMaxconn` requests at once. Every version
 * that can be routed has a backend whatever its weight, so weights and hosts live in maps only.
 */
export function renderHaproxyConfig(table: RouteTable, settings: HaproxySettings): HaproxyConfig {
  const apps = [...table.apps.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const servers: HaproxyServer[] = [];
  const backends: { app: AppRoute; version: VersionRoute; servers: HaproxyServer[] }[] = [];
  for (const [, app] of apps) {
    for (const versionNumber of routableVersions(app)) {
      const version = app.versions.get(versionNumber)!;
      const slots = slotsOf(table, app, version, settings.minSlots);
      backends.push({ app, version, servers: slots });
      servers.push(...slots);
    }
  }
  const render = (masked: boolean) =>
    [
      globalSection(settings),
      defaultsSection(settings),
      frontendSection(apps, settings),
      metricsSection(settings),
      notFoundSection(),
      handoffSection(settings),
      ...apps.map(([, app]) => unavailableSection(app)),
      ...backends.map((b) => versionSection(b.app, b.version, b.servers, settings, masked)),
    ].join('\n');
  const hosts = hostsMap(apps);
  const up = new Set(
    backends.filter((b) => b.servers.some((s) => s.enabled)).map((b) => b.servers[0]!.backend),
  );
  const routes = routesMap(
    apps,
    (app, version) => up.has(versionBackend(app, version)),
    (app, version) => (version === null ? unavailableBackend(app) : versionBackend(app, version)),
  );
  const maps: HaproxyMap[] = [
    { path: settings.hostsMapFile, content: hosts },
    { path: settings.routesMapFile, content: routes },
  ];
  return { text: render(false), hostsMap: hosts, routesMap: routes, maps, layout: render(true), servers };
}

/**
 * The slots of a version backend: every slot the version ever used, rounded up to a power of two. A
 * slot is enabled when its instance is in rotation or, the version being in panic, kept in it.
 */
function slotsOf(table: RouteTable, app: AppRoute, version: VersionRoute, minSlots: number): HaproxyServer[] {
  let count = Math.max(1, minSlots);
  while (count < version.slots.length) count *= 2;
  const backend = versionBackend(app, version.version);
  const panic = panicOf(table, version).length > 0;
  return Array.from({ length: count }, (_, i) => {
    const instanceId = version.slots[i] ?? null;
    const instance = instanceId ? table.instances.get(instanceId) : undefined;
    const endpoint = instance?.endpoint && isIpLiteral(instance.endpoint.host) ? instance.endpoint : null;
    const serves = !!instance && (inRotation(instance) || (panic && panicEligible(instance)));
    return { backend, name: `s${i + 1}`, instanceId, endpoint, enabled: serves && endpoint !== null };
  });
}

function globalSection(s: HaproxySettings): string {
  return lines('global', [
    `stats socket ${s.statsSocket} mode 600 level admin`,
    'stats timeout 30s',
    // Notices only (server state changes, reloads): no per-request access log.
    'log stderr format raw local0 notice',
    // A reload leaves the old worker serving its open connections (WebSockets, SSE) until they close or
    // `timeout tunnel` ends them; this bounds how long, and so how many old workers can pile up.
    `hard-stop-after ${s.hardStopAfterSeconds}s`,
    ...(s.threads > 0 ? [`nbthread ${s.threads}`] : []),
  ]);
}

function defaultsSection(s: HaproxySettings): string {
  return lines('defaults', [
    'mode http',
    'log global',
    // A reload (a layout change) must not close the keep-alive connections clients hold: the old
    // worker answers the next request on each with `Connection: close` instead, so a client never writes
    // into a connection that is being closed.
    'option idle-close-on-response',
    // Retries go to another instance: a refused connection, an empty answer, or no answer in time.
    'retries 3',
    'option redispatch 1',
    'retry-on conn-failure empty-response response-timeout',
    'timeout connect 3s',
    'timeout client 60s',
    'timeout server 60s',
    'timeout http-request 10s',
    'timeout http-keep-alive 10s',
    // A request waits this long for one of its version's instances to take it (each takes `maxconn`
    // at once), then gets 503 APP_OVERLOADED: a bounded queue in HAProxy instead of an overflowing
    // accept queue in the app.
    `timeout queue ${s.queueTimeoutMs}ms`,
    // Upgraded connections (WebSockets) live by this one.
    'timeout tunnel 1h',
    'timeout client-fin 5s',
    'timeout server-fin 5s',
  ]);
}

function frontendSection(apps: readonly (readonly [string, AppRoute])[], s: HaproxySettings): string {
  const routes = (key: string) => `${key},map_str(${s.routesMapFile})`;
  const is = (value: string) => `{ var(txn.pier_be) -m str ${value} }`;
  const body = [
    `bind ${address(s.bind, s.httpPort)}`,
    // What a replaced worker hands over, with the client's addresses in a PROXY header.
    `bind unix@${s.handoffSocket} mode 600 accept-proxy`,
    // Nothing per request: with a log target and no log format, HAProxy would format a "Connect from"
    // line for every request only to drop it below `notice`. Backends keep logging server state changes.
    'no log',
    ...forwardedHeaders(s.trustedProxies),
    'http-request set-var(txn.pier_host) req.hdr(host),field(1,:),lower',
    `http-request set-var(txn.pier_app) var(txn.pier_host),map_str(${s.hostsMapFile})`,
  ];
  // A sticky app's cookie names the version first (`<version>.<server>`); the map has it while it may
  // be followed.
  for (const [id, app] of apps) {
    if (!app.stickySessions) continue;
    body.push(
      `http-request set-var(txn.pier_sticky) req.cook(${stickyCookie(app)}),field(1,.) if { var(txn.pier_app) -m str ${id} }`,
    );
  }
  if (apps.some(([, app]) => app.stickySessions)) {
    body.push(
      `http-request set-var(txn.pier_be) ${routes('var(txn.pier_app),concat(/v,txn.pier_sticky)')} if { var(txn.pier_sticky) -m found }`,
    );
  }
  body.push(
    `http-request set-var(txn.pier_be) ${routes('var(txn.pier_app)')} unless { var(txn.pier_be) -m found }`,
    // A split app: a random bucket in [0, 10000), its cell, and the bucket itself where two versions meet.
    `http-request set-var(txn.pier_r) rand(${TRAFFIC_BUCKETS}) if ${is(SPLIT)}`,
    `http-request set-var(txn.pier_cell) var(txn.pier_r),div(${CELL_BUCKETS}) if ${is(SPLIT)}`,
    `http-request set-var(txn.pier_be) ${routes('var(txn.pier_app),concat(/c,txn.pier_cell)')} if ${is(SPLIT)}`,
    `http-request set-var(txn.pier_be) ${routes('var(txn.pier_app),concat(/b,txn.pier_r)')} if ${is(SHARED_CELL)}`,
    '',
    // A reload leaves the old worker the keep-alive connections it holds (see idle-close-on-response),
    // but its servers stay as they were at the reload: the runtime API refuses to change a stopping
    // worker's backends. It would send a request to an instance stopped since, or to a lost node's
    // container that still answers. So it routes nothing itself and hands every request over.
    `use_backend ${HANDOFF_BACKEND} if { stopping }`,
    'use_backend %[var(txn.pier_be)] if { var(txn.pier_be) -m found }',
    `default_backend ${NOT_FOUND_BACKEND}`,
  );
  return lines('frontend http', body);
}

/**
 * What an app is told about its client. A client can send any header: `X-Forwarded-For`, `Forwarded`,
 * `X-Real-IP` and `X-Forwarded-Host/-Proto/-Port` are believed only from a trusted proxy, and replaced
 * for everyone else. `option forwardfor` (defaults) then appends the address the router saw.
 */
function forwardedHeaders(trusted: readonly string[]): string[] {
  if (trusted.length === 0) {
    // Nobody is believed: each header is replaced (`set-header` drops what the client sent).
    return [
      'http-request del-header X-Forwarded-For',
      'http-request del-header Forwarded',
      'http-request del-header X-Forwarded-Host',
      'http-request set-header X-Real-IP %[src]',
      'http-request set-header X-Forwarded-Proto https if { ssl_fc }',
      'http-request set-header X-Forwarded-Proto http if !{ ssl_fc }',
      'http-request add-header X-Forwarded-Host %[req.hdr(host)] if { req.hdr(host) -m found }',
      'http-request set-header X-Forwarded-Port %[dst_port]',
    ];
  }
  const unless = ' unless pier_trusted_proxy';
  return [
    `acl pier_trusted_proxy src ${trusted.join(' ')}`,
    ...[
      'X-Forwarded-For',
      'Forwarded',
      'X-Real-IP',
      'X-Forwarded-Host',
      'X-Forwarded-Proto',
      'X-Forwarded-Port',
    ].map((header) => `http-request del-header ${header}${unless}`),
    'http-request set-header X-Real-IP %[src] unless { req.hdr(x-real-ip) -m found }',
    'http-request set-header X-Forwarded-Proto https if !{ req.hdr(x-forwarded-proto) -m found } { ssl_fc }',
    'http-request set-header X-Forwarded-Proto http if !{ req.hdr(x-forwarded-proto) -m found } !{ ssl_fc }',
    'http-request set-header X-Forwarded-Host %[req.hdr(host)] if !{ req.hdr(x-forwarded-host) -m found } { req.hdr(host) -m found }',
    'http-request set-header X-Forwarded-Port %[dst_port] unless { req.hdr(x-forwarded-port) -m found }',
  ];
}

function metricsSection(s: HaproxySettings): string {
  return lines('frontend pier.metrics', [
    `bind ${address(s.metricsBind, s.metricsPort)}`,
    'http-request use-service prometheus-exporter if { path /metrics }',
    "http-request return status 404 content-type text/plain string 'not found'",
  ]);
}

function notFoundSection(): string {
  return lines(`backend ${NOT_FOUND_BACKEND}`, [
    `http-request return status 404 content-type application/json lf-string '${ROUTE_NOT_FOUND_FORMAT}'`,
  ]);
}

function handoffSection(s: HaproxySettings): string {
  return lines(`backend ${HANDOFF_BACKEND}`, [
    // The current worker retries towards the instances itself: a request is sent over once.
    'retry-on conn-failure',
    // No X-Forwarded-For here: the current worker adds the client's address from the PROXY header.
    `server current unix@${s.handoffSocket} send-proxy-v2`,
  ]);
}

function unavailableSection(app: AppRoute): string {
  return lines(`backend ${unavailableBackend(app)}`, [
    `http-request return status 503 content-type application/json string '${noReadyInstanceBody(app)}'`,
  ]);
}

function versionSection(
  app: AppRoute,
  version: VersionRoute,
  servers: readonly HaproxyServer[],
  s: HaproxySettings,
  masked: boolean,
): string {
  const body = ['balance roundrobin', 'option forwardfor'];
  if (app.stickySessions) body.push(`cookie ${stickyCookie(app)} insert indirect nocache httponly`);
  const retryAfter = Math.max(1, Math.ceil(s.queueTimeoutMs / 1000));
  body.push(
    // A request that may have reached the instance is retried only when repeating it is harmless.
    `http-request disable-l7-retry unless { method ${IDEMPOTENT_METHODS.join(' ')} }`,
    // HAProxy's own 503 here: the app has servers, but none took the request in time (the queue timed
    // out, or every attempt failed). NO_READY_INSTANCE is the app's `unavailable` backend's alone.
    `http-error status 503 content-type application/json hdr Retry-After ${retryAfter} ` +
      `string '${appOverloadedBody(app)}'`,
  );
  for (const server of servers) {
    const target = masked
      ? 'SLOT'
      : server.endpoint
        ? address(server.endpoint.host, server.endpoint.port)
        : PLACEHOLDER;
    const disabled = !masked && !server.enabled ? ' disabled' : '';
    const cookie = app.stickySessions ? ` cookie ${version.version}.${server.name}` : '';
    const maxconn = version.maxConcurrentRequests ?? s.serverMaxconn;
    body.push(`server ${server.name} ${target} maxconn ${maxconn}${disabled}${cookie}`);
  }
  return lines(`backend ${versionBackend(app, version.version)}`, body);
}

/** The address of an empty slot: never connected to, the slot is in maintenance. */
const PLACEHOLDER = '127.0.0.1:1';

function address(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function lines(header: string, body: readonly string[]): string {
  return `${header}\n${body.map((l) => (l === '' ? '' : `  ${l}`)).join('\n')}\n`;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9a-f:]*:[0-9a-f:.]*$/i;

/**
 * The runtime API sets IP addresses only, and a name in the configuration would be resolved when
 * HAProxy loads it (an unresolvable one fails the reload): instances advertised by name get no traffic.
 */
export function isIpLiteral(host: string): boolean {
  return IPV4.test(host) || (IPV6.test(host) && host.length <= 45);
}

import { type PierEvent } from '@pier/contracts';
import { runtime } from '../../test/support/runtime-events';
import { type HaproxySettings, renderHaproxyConfig } from './haproxy-config';
import { emptyRouteTable, evolve, type RouteTable } from './route-table';

const settings: HaproxySettings = {
  bind: '127.0.0.1',
  httpPort: 18080,
  metricsBind: '127.0.0.1',
  metricsPort: 18405,
  statsSocket: '/run/pier/haproxy.sock',
  handoffSocket: '/run/pier/handoff.sock',
  hostsMapFile: '/run/pier/hosts.map',
  routesMapFile: '/run/pier/routes.map',
  minSlots: 4,
  hardStopAfterSeconds: 86400,
  threads: 0,
  serverMaxconn: 16,
  queueTimeoutMs: 3000,
  trustedProxies: [],
};

const W1 = '20000000-0000-4000-8000-000000000001';
const W2 = '20000000-0000-4000-8000-000000000002';
const W3 = '20000000-0000-4000-8000-000000000003';
const A1 = '20000000-0000-4000-8000-000000000011';
const V2 = '20000000-0000-4000-8000-000000000004';

/** acme/web at 80/20/0 over versions 1, 2, 3; acme/api sticky; acme/empty with nothing to serve; acme/old deleting. */
const history: PierEvent[] = [
  runtime.appCreated('acme', 'web'),
  runtime.domainAdded('acme', 'web', 'Shop.Example.com'),
  runtime.versionCreated('acme', 'web', 1),
  runtime.versionCreated('acme', 'web', 2),
  runtime.versionCreated('acme', 'web', 3),
  runtime.trafficSet('acme', 'web', { 1: 80, 2: 20, 3: 0 }),
  runtime.instanceRequested(W1, 'acme', 'web', 1),
  runtime.instanceStarted(W1, 41001),
  runtime.instanceReady(W1),
  runtime.instanceRequested(W2, 'acme', 'web', 1),
  runtime.instanceStarted(W2, 41002),
  runtime.instanceRequested(W3, 'acme', 'web', 3),
  runtime.instanceStarted(W3, 41003),
  runtime.instanceReady(W3),
  runtime.appCreated('acme', 'api'),
  runtime.stickySessionsSet('acme', 'api', true),
  runtime.versionCreated('acme', 'api', 1),
  runtime.trafficSet('acme', 'api', { 1: 100 }),
  runtime.instanceRequested(A1, 'acme', 'api', 1),
  runtime.instanceStarted(A1, 42001),
  runtime.instanceReady(A1),
  runtime.appCreated('acme', 'empty'),
  runtime.appCreated('acme', 'old'),
  runtime.versionCreated('acme', 'old', 1),
  runtime.trafficSet('acme', 'old', { 1: 100 }),
  runtime.deletionRequested('acme', 'old'),
];
const table = (events = history): RouteTable => events.reduce(evolve, emptyRouteTable());

/** The configuration as `header → body lines` (trimmed, without blank lines). */
function sections(text: string): Map<string, string[]> {
  const result = new Map<string, string[]>();
  let current: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (!line.startsWith(' ')) result.set(line, (current = []));
    else current.push(line.trim());
  }
  return result;
}
const render = (t = table()) => renderHaproxyConfig(t, settings);
const section = (name: string, t?: RouteTable) => sections(render(t).text).get(name) ?? [];
const frontend = (t?: RouteTable) => section('frontend http', t);

/** An app's entries in the routes map. */
const routesOf = (app: string, t?: RouteTable) =>
  render(t)
    .routesMap.split('\n')
    .filter((l) => l.startsWith(`${app} `) || l.startsWith(`${app}/`));
/** Which backend the routes map gives each key of an app (`''` for the app itself). */
const routeTargets = (app: string, t?: RouteTable) =>
  Object.fromEntries(
    routesOf(app, t).map((l) => {
      const [key, value] = l.split(' ');
      return [key!.slice(app.length), value!];
    }),
  );

const equalMaps = (a: ReturnType<typeof render>, b: ReturnType<typeof render>) =>
  JSON.stringify(a.maps) === JSON.stringify(b.maps);

/** The JSON in `string '…'` of an `http-request return` or `http-error` line. */
const jsonBody = (line: string | undefined) => JSON.parse(/string '(.*)'$/.exec(line ?? '')![1]!) as unknown;

describe('HAProxy configuration', () => {
  it('listens for HTTP on the configured address and serves Prometheus metrics on its own', () => {
    expect(frontend()).toContain('bind 127.0.0.1:18080');
    const metrics = section('frontend pier.metrics');
    expect(metrics).toContain('bind 127.0.0.1:18405');
    expect(metrics).toContain('http-request use-service prometheus-exporter if { path /metrics }');
    expect(section('global')).toContain('stats socket /run/pier/haproxy.sock mode 600 level admin');
    const v6 = renderHaproxyConfig(table(), { ...settings, bind: '::1' }).text;
    expect(sections(v6).get('frontend http')).toContain('bind [::1]:18080');
  });

  it('maps every host of every app being served to the app, and routes by Host without port or case', () => {
    expect(render().hostsMap.split('\n').filter(Boolean)).toEqual([
      'api.acme.pier.localhost acme_api',
      'empty.acme.pier.localhost acme_empty',
      'shop.example.com acme_web',
      'web.acme.pier.localhost acme_web',
    ]);
    expect(frontend()).toContain('http-request set-var(txn.pier_host) req.hdr(host),field(1,:),lower');
    expect(frontend()).toContain(
      'http-request set-var(txn.pier_app) var(txn.pier_host),map_str(/run/pier/hosts.map)',
    );
    expect(render().maps.map((m) => m.path)).toEqual(['/run/pier/hosts.map', '/run/pier/routes.map']);
  });

  it('routes through two maps, in the same few rules however many apps there are', () => {
    const routing = [
      'http-request set-var(txn.pier_be) var(txn.pier_app),map_str(/run/pier/routes.map) unless { var(txn.pier_be) -m found }',
      'http-request set-var(txn.pier_r) rand(10000) if { var(txn.pier_be) -m str ~split }',
      'http-request set-var(txn.pier_cell) var(txn.pier_r),div(100) if { var(txn.pier_be) -m str ~split }',
      'http-request set-var(txn.pier_be) var(txn.pier_app),concat(/c,txn.pier_cell),map_str(/run/pier/routes.map) if { var(txn.pier_be) -m str ~split }',
      'http-request set-var(txn.pier_be) var(txn.pier_app),concat(/b,txn.pier_r),map_str(/run/pier/routes.map) if { var(txn.pier_be) -m str ~fine }',
      'use_backend pier.handoff if { stopping }',
      'use_backend %[var(txn.pier_be)] if { var(txn.pier_be) -m found }',
      'default_backend pier.not-found',
    ];
    const rules = frontend();
    expect(rules.slice(-routing.length)).toEqual(routing);
    const many = table([
      ...history,
      ...Array.from({ length: 50 }, (_, i) => [
        runtime.appCreated('acme', `app-${i}`),
        runtime.versionCreated('acme', `app-${i}`, 1),
        runtime.trafficSet('acme', `app-${i}`, { 1: 100 }),
      ]).flat(),
    ]);
    expect(frontend(many)).toEqual(rules);
    expect(routeTargets('acme_app-7', many)).toEqual({ '': 'acme.app-7.unavailable' });
  });

  it('answers 404 ROUTE_NOT_FOUND, with the host JSON-escaped by HAProxy, for any other host', () => {
    expect(frontend()).toContain('default_backend pier.not-found');
    const notFound = section('backend pier.not-found');
    expect(notFound).toHaveLength(1);
    expect(notFound[0]).toMatch(/^http-request return status 404 content-type application\/json lf-string '/);
    const body = /lf-string '(.*)'$/
      .exec(notFound[0]!)![1]!
      .replace('%[var(txn.pier_host),json(utf8s)]', 'h');
    expect(JSON.parse(body)).toEqual({
      error: { code: 'ROUTE_NOT_FOUND', message: 'no app is served at this host', details: { host: 'h' } },
    });
  });

  it('splits by weight over 10000 buckets in steps of 0.01 %, in cells of 100 and single buckets where versions meet, never to a version at 0', () => {
    const bothUp = [
      ...history,
      runtime.instanceRequested(V2, 'acme', 'web', 2),
      runtime.instanceStarted(V2, 41004),
      runtime.instanceReady(V2),
    ];
    const split = routeTargets('acme_web', table(bothUp));
    expect(split['']).toBe('~split');
    expect(Object.keys(split)).toHaveLength(101);
    for (let c = 0; c < 80; c++) expect(split[`/c${c}`]).toBe('acme.web.v1');
    for (let c = 80; c < 100; c++) expect(split[`/c${c}`]).toBe('acme.web.v2');
    // Version 3 (at 0) has a backend and a ready instance, so a weight for it is a map change; the map gives it nothing.
    expect(render(table(bothUp)).text).toContain('backend acme.web.v3');
    expect(render(table(bothUp)).servers.find((s) => s.instanceId === W3)).toMatchObject({ enabled: true });
    expect(Object.values(split)).not.toContain('acme.web.v3');
    // 99.99 / 0.01: the last cell is shared, and its buckets are listed one by one.
    const fine = routeTargets(
      'acme_web',
      table([...bothUp, runtime.trafficSet('acme', 'web', { 1: 99.99, 2: 0.01 })]),
    );
    expect(fine['/c98']).toBe('acme.web.v1');
    expect(fine['/c99']).toBe('~fine');
    expect(fine['/b9900']).toBe('acme.web.v1');
    expect(fine['/b9998']).toBe('acme.web.v1');
    expect(fine['/b9999']).toBe('acme.web.v2');
    expect(Object.keys(fine)).toHaveLength(1 + 100 + 100);
    // An app without weights sends everything to its 503.
    expect(routeTargets('acme_empty')).toEqual({ '': 'acme.empty.unavailable' });
  });

  it('spills a version without a server in rotation to the heaviest weighted version that has one, then answers 503', () => {
    // Version 2 (20 %) has no instance: all of the app's traffic goes to version 1, by one lookup.
    expect(routeTargets('acme_web')).toEqual({ '': 'acme.web.v1' });
    // Version 1 (80 %) loses its only one while version 2 has one: all goes to version 2.
    const v2Only = table([
      ...history,
      runtime.instanceRequested(V2, 'acme', 'web', 2),
      runtime.instanceStarted(V2, 41004),
      runtime.instanceReady(V2),
      runtime.instanceExited(W1),
    ]);
    expect(routeTargets('acme_web', v2Only)).toEqual({ '': 'acme.web.v2' });
    // Neither: 503, even though version 3 (at 0) has a ready instance.
    expect(routeTargets('acme_web', table([...history, runtime.instanceExited(W1)]))).toEqual({
      '': 'acme.web.unavailable',
    });
    // Three weighted versions, the middle one down: its share goes to the heaviest of the others.
    const three = table([
      ...history,
      runtime.instanceRequested(V2, 'acme', 'web', 2),
      runtime.instanceStarted(V2, 41004),
      runtime.instanceReady(V2),
      runtime.trafficSet('acme', 'web', { 1: 30, 2: 60, 3: 10 }),
      runtime.instanceExited(V2),
    ]);
    const targets = routeTargets('acme_web', three);
    expect(targets['']).toBe('~split');
    expect(targets['/c0']).toBe('acme.web.v1');
    expect(targets['/c89']).toBe('acme.web.v1');
    expect(targets['/c90']).toBe('acme.web.v3');
  });

  it('has a worker replaced by a reload hand every request to the current one, with the client in a PROXY header', () => {
    const rules = frontend();
    expect(rules).toContain('bind unix@/run/pier/handoff.sock mode 600 accept-proxy');
    // Before any app's rule: a stopping worker's servers are as they were at the reload.
    const handoff = rules.indexOf('use_backend pier.handoff if { stopping }');
    expect(handoff).toBeGreaterThan(-1);
    expect(rules.indexOf('use_backend %[var(txn.pier_be)] if { var(txn.pier_be) -m found }')).toBeGreaterThan(
      handoff,
    );
    expect(section('backend pier.handoff')).toEqual([
      'retry-on conn-failure',
      'server current unix@/run/pier/handoff.sock send-proxy-v2',
    ]);
    // Only the version backends add X-Forwarded-For: the handoff does not add the client twice.
    expect(section('defaults')).not.toContain('option forwardfor');
    expect(section('backend acme.web.v1')).toContain('option forwardfor');
  });

  it('answers 503 NO_READY_INSTANCE naming the app when none is ready, and APP_OVERLOADED with Retry-After from a version whose instances are busy', () => {
    const unavailable = section('backend acme.web.unavailable');
    expect(unavailable[0]).toMatch(/^http-request return status 503 content-type application\/json string '/);
    expect(jsonBody(unavailable[0])).toEqual({
      error: {
        code: 'NO_READY_INSTANCE',
        message: 'no instance of app web in space acme is ready',
        details: { space: 'acme', app: 'web' },
      },
    });
    const error = section('backend acme.web.v1').find((l) => l.startsWith('http-error status 503'));
    expect(error).toMatch(/^http-error status 503 content-type application\/json hdr Retry-After 3 string '/);
    expect(jsonBody(error)).toEqual({
      error: {
        code: 'APP_OVERLOADED',
        message:
          'no instance of app web in space acme took the request in time (all busy, or failing); try again shortly',
        details: { space: 'acme', app: 'web' },
      },
    });
    expect(routeTargets('acme_empty')).toEqual({ '': 'acme.empty.unavailable' });
  });

  it('sends each instance at most maxconn requests at once and lets the rest wait a bounded time', () => {
    expect(section('backend acme.web.v1')).toContain('server s1 127.0.0.1:41001 maxconn 16');
    expect(section('defaults')).toContain('timeout queue 3000ms');
    const other = renderHaproxyConfig(table(), { ...settings, serverMaxconn: 4, queueTimeoutMs: 1500 }).text;
    expect(sections(other).get('backend acme.web.v1')).toContain('server s1 127.0.0.1:41001 maxconn 4');
    expect(sections(other).get('defaults')).toContain('timeout queue 1500ms');
    expect(sections(other).get('backend acme.web.v1')).toContainEqual(
      expect.stringMatching(/^http-error status 503 .* hdr Retry-After 2 /),
    );
    // A version's spec may set its own.
    const own = table([
      ...history,
      runtime.versionCreated('acme', 'web', 4, undefined, { maxConcurrentRequests: 2 }),
    ]);
    expect(section('backend acme.web.v4', own)).toContain('server s1 127.0.0.1:1 maxconn 2 disabled');
    expect(section('backend acme.web.v1', own)).toContain('server s1 127.0.0.1:41001 maxconn 16');
  });

  it('lets a replaced worker keep long-lived connections as long as hard-stop-after allows', () => {
    expect(section('global')).toContain('hard-stop-after 86400s');
    const short = renderHaproxyConfig(table(), { ...settings, hardStopAfterSeconds: 120 }).text;
    expect(sections(short).get('global')).toContain('hard-stop-after 120s');
  });

  it('logs nothing per request, and notices (server state changes) from the backends', () => {
    expect(frontend()).toContain('no log');
    expect(section('defaults')).toContain('log global');
    expect(section('global')).toContain('log stderr format raw local0 notice');
    expect(section('backend acme.web.v1')).not.toContain('no log');
  });

  it("leaves HAProxy's thread count to HAProxy unless told", () => {
    expect(section('global')).not.toContain('nbthread');
    const one = renderHaproxyConfig(table(), { ...settings, threads: 1 }).text;
    expect(sections(one).get('global')).toContain('nbthread 1');
  });

  it('stops routing an app whose deletion started at once, through the hosts map', () => {
    expect(render().hostsMap).not.toContain('acme_old');
    expect(render().routesMap).not.toContain('acme_old');
    const before = render(table(history.slice(0, -1)));
    expect(before.hostsMap).toContain('old.acme.pier.localhost acme_old');
    expect(render().layout).toBe(before.layout);
  });

  it('retries idempotent requests on another instance, and only connection failures for the others', () => {
    const defaults = section('defaults');
    expect(defaults).toEqual(
      expect.arrayContaining([
        'retries 3',
        'option redispatch 1',
        'retry-on conn-failure empty-response response-timeout',
      ]),
    );
    const disable = section('backend acme.web.v1').find((l) => l.startsWith('http-request disable-l7-retry'));
    expect(disable).toBe('http-request disable-l7-retry unless { method GET HEAD OPTIONS TRACE PUT DELETE }');
    expect(disable).not.toMatch(/POST|PATCH/);
  });

  it('tells the instance who asked (X-Forwarded-*) and lets WebSockets through', () => {
    expect(section('backend acme.web.v1')).toContain('option forwardfor');
    expect(frontend()).toEqual(
      expect.arrayContaining([
        'http-request set-header X-Forwarded-Proto http if !{ ssl_fc }',
        'http-request set-header X-Real-IP %[src]',
        'http-request set-header X-Forwarded-Port %[dst_port]',
      ]),
    );
    expect(section('defaults')).toContain('timeout tunnel 1h');
  });

  it('replaces the forwarding headers a client sent, unless it is a trusted proxy', () => {
    const headers = ['X-Forwarded-For', 'Forwarded', 'X-Real-IP', 'X-Forwarded-Host'];
    // From anyone: dropped, or set (which drops what was sent) to what the router saw.
    for (const h of headers) {
      expect(
        frontend().some(
          (l) => l === `http-request del-header ${h}` || l.startsWith(`http-request set-header ${h} `),
        ),
      ).toBe(true);
    }
    const trusted = sections(
      renderHaproxyConfig(table(), { ...settings, trustedProxies: ['10.0.0.0/8', '192.0.2.7'] }).text,
    ).get('frontend http')!;
    expect(trusted).toContain('acl pier_trusted_proxy src 10.0.0.0/8 192.0.2.7');
    for (const h of headers)
      expect(trusted).toContain(`http-request del-header ${h} unless pier_trusted_proxy`);
    // The headers are dropped before anything sets them again.
    const at = (line: string) => trusted.indexOf(line);
    expect(at('http-request del-header X-Real-IP unless pier_trusted_proxy')).toBeLessThan(
      at('http-request set-header X-Real-IP %[src] unless { req.hdr(x-real-ip) -m found }'),
    );
  });

  it('serves a host that two apps list from its default domain’s app, never from the other', () => {
    const hijacked = table([
      ...history,
      runtime.appCreated('evil', 'x'),
      runtime.domainAdded('evil', 'x', 'web.acme.pier.localhost'),
      runtime.domainAdded('evil', 'x', 'shop.example.com'),
    ]);
    const lines = render(hijacked).hostsMap.split('\n').filter(Boolean);
    expect(lines).toContain('web.acme.pier.localhost acme_web');
    expect(lines).toContain('shop.example.com acme_web');
    expect(lines.filter((l) => l.startsWith('web.acme.pier.localhost '))).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith('shop.example.com '))).toHaveLength(1);
  });

  it('pins a sticky client to its version and instance with a cookie, ahead of the random split', () => {
    expect(frontend()).toContain(
      'http-request set-var(txn.pier_sticky) req.cook(pier_acme_api),field(1,.) if { var(txn.pier_app) -m str acme_api }',
    );
    expect(frontend()).toContain(
      'http-request set-var(txn.pier_be) var(txn.pier_app),concat(/v,txn.pier_sticky),map_str(/run/pier/routes.map) if { var(txn.pier_sticky) -m found }',
    );
    // Only while the cookie's version has a weight and a server in rotation.
    expect(routeTargets('acme_api')).toEqual({ '': 'acme.api.v1', '/v1': 'acme.api.v1' });
    expect(routeTargets('acme_api', table([...history, runtime.instanceExited(A1)]))).toEqual({
      '': 'acme.api.unavailable',
    });
    const backend = section('backend acme.api.v1');
    expect(backend).toContain('cookie pier_acme_api insert indirect nocache httponly');
    expect(backend).toContain('server s1 127.0.0.1:42001 maxconn 16 cookie 1.s1');
    expect(backend).toContain('server s2 127.0.0.1:1 maxconn 16 disabled cookie 1.s2');
    expect(section('backend acme.web.v1').some((l) => l.includes('cookie'))).toBe(false);
    expect(frontend().some((l) => l.includes('req.cook(pier_acme_web)'))).toBe(false);
    expect(Object.keys(routeTargets('acme_web')).some((k) => k.startsWith('/v'))).toBe(false);
  });

  it('renders every slot of a version: ready instances in rotation, the others and empty slots disabled', () => {
    expect(section('backend acme.web.v1').filter((l) => l.startsWith('server '))).toEqual([
      'server s1 127.0.0.1:41001 maxconn 16',
      'server s2 127.0.0.1:41002 maxconn 16 disabled',
      'server s3 127.0.0.1:1 maxconn 16 disabled',
      'server s4 127.0.0.1:1 maxconn 16 disabled',
    ]);
    expect(render().servers.filter((s) => s.backend === 'acme.web.v1')).toEqual([
      {
        backend: 'acme.web.v1',
        name: 's1',
        instanceId: W1,
        endpoint: { host: '127.0.0.1', port: 41001 },
        enabled: true,
      },
      {
        backend: 'acme.web.v1',
        name: 's2',
        instanceId: W2,
        endpoint: { host: '127.0.0.1', port: 41002 },
        enabled: false,
      },
      { backend: 'acme.web.v1', name: 's3', instanceId: null, endpoint: null, enabled: false },
      { backend: 'acme.web.v1', name: 's4', instanceId: null, endpoint: null, enabled: false },
    ]);
  });

  it('grows a backend in powers of two when its instances outnumber its slots', () => {
    const more = Array.from({ length: 4 }, (_, i) => `30000000-0000-4000-8000-00000000000${i}`).flatMap(
      (id, i) => [runtime.instanceRequested(id, 'acme', 'web', 1), runtime.instanceStarted(id, 43000 + i)],
    );
    const servers = section('backend acme.web.v1', table([...history, ...more])).filter((l) =>
      l.startsWith('server'),
    );
    expect(servers).toHaveLength(8);
  });

  it('keeps the layout when membership, readiness, weights, hosts or a deletion request change, and changes it for anything else', () => {
    const base = render();
    const sameLayout = [
      runtime.instanceReady(W2),
      runtime.instanceExited(W1),
      runtime.instanceStarted(W1, 45000, { restarts: 1 }),
      runtime.stopRequested(W1),
      runtime.instanceStopped(W1),
      runtime.domainAdded('acme', 'web', 'new.example.com'),
      runtime.domainRemoved('acme', 'web', 'shop.example.com'),
      runtime.trafficSet('acme', 'web', { 1: 50, 3: 50 }),
      runtime.trafficSet('acme', 'web', { 1: 80, 2: 10, 3: 10 }),
      runtime.trafficSet('acme', 'web', { 1: 0, 2: 0, 3: 100 }),
      runtime.deletionRequested('acme', 'web'),
    ];
    for (const e of sameLayout) {
      const next = render(table([...history, e]));
      expect(next.layout).toBe(base.layout);
      expect({ event: e.type, unchanged: next.text === base.text && equalMaps(next, base) }).toEqual({
        event: e.type,
        unchanged: false,
      });
    }
    const newLayout = [
      runtime.appCreated('acme', 'other'),
      runtime.appDeleted('acme', 'old'),
      runtime.versionCreated('acme', 'web', 4),
      runtime.stickySessionsSet('acme', 'web', true),
      runtime.stickySessionsSet('acme', 'api', false),
    ];
    for (const e of newLayout) expect(render(table([...history, e])).layout).not.toBe(base.layout);
  });

  it('keeps a version whose last ready instance fails readiness on its running instances that had been ready (panic), never on one still starting', () => {
    const enabled = (t: RouteTable) =>
      render(t)
        .servers.filter((s) => s.backend === 'acme.web.v1' && s.enabled)
        .map((s) => s.instanceId);
    expect(enabled(table())).toEqual([W1]);
    // W1 (ready before) fails its probe; W2 started and never was ready.
    const panic = table([...history, runtime.instanceNotReady(W1)]);
    expect(enabled(panic)).toEqual([W1]);
    // W2 becomes ready: out of panic, W1 waits for its probe again.
    expect(enabled(table([...history, runtime.instanceNotReady(W1), runtime.instanceReady(W2)]))).toEqual([
      W2,
    ]);
    // W1's container exits: it is not running, so nothing is left to send to.
    expect(enabled(table([...history, runtime.instanceNotReady(W1), runtime.instanceExited(W1)]))).toEqual(
      [],
    );
    // A restarted container is starting again: not kept until it is ready once more.
    const restarted = [runtime.instanceExited(W1), runtime.instanceStarted(W1, 45000, { restarts: 1 })];
    expect(enabled(table([...history, ...restarted]))).toEqual([]);
    // A stop requested takes it out for good, panic or not.
    expect(enabled(table([...history, runtime.instanceNotReady(W1), runtime.stopRequested(W1)]))).toEqual([]);
  });

  it('is a pure function of the table and the settings', () => {
    expect(render(table())).toEqual(render(table()));
  });

  it('sends no traffic to an instance advertised by name: HAProxy would resolve it at load time', () => {
    const named = table([
      ...history,
      runtime.instanceStarted(W2, 41002, { host: 'node-2.example.com', restarts: 1 }),
      runtime.instanceReady(W2),
    ]);
    expect(render(named).servers.find((s) => s.instanceId === W2)).toMatchObject({
      endpoint: null,
      enabled: false,
    });
    expect(render(named).text).not.toContain('node-2.example.com');
  });
});

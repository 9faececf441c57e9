import { commonEnv, envInt, envPort, eventStoreEnv } from '@pier/config';
import { hostnameSchema } from '@pier/contracts';
import { z } from 'zod';

/** A port HAProxy binds: a fixed one (0 would leave nobody knowing where it listens). */
const proxyPort = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);
const ipAddress = (fallback: string) => z.union([z.ipv4(), z.ipv6()]).default(fallback);
const addressOrRange = z.union([z.ipv4(), z.ipv6(), z.cidrv4(), z.cidrv6()]);
/** A comma-separated list of IP addresses and CIDR ranges. */
const addressList = z
  .string()
  .default('')
  .transform((v) =>
    v
      .split(',')
      .map((a) => a.trim())
      .filter((a) => a.length > 0),
  )
  .pipe(
    z.array(addressOrRange, { message: 'must be IP addresses or CIDR ranges, comma-separated' }).max(100),
  );

export const routerConfigSchema = z
  .object({
    ...commonEnv,
    ...eventStoreEnv,
    /** Port of the router service's own ops endpoints (/healthz, /readyz, /metrics). */
    PIER_ROUTER_PORT: envPort(4103),
    /** HAProxy's HTTP frontend: every app's traffic. */
    PIER_ROUTER_HTTP_PORT: proxyPort(8080),
    /** Reserved for TLS termination (not served yet). */
    PIER_ROUTER_HTTPS_PORT: proxyPort(8443),
    /** Address the HTTP frontend binds. */
    PIER_ROUTER_BIND: ipAddress('127.0.0.1'),
    /** HAProxy's Prometheus exporter (per-app requests, status classes, latency). */
    PIER_ROUTER_METRICS_PORT: proxyPort(8405),
    PIER_ROUTER_METRICS_BIND: ipAddress('127.0.0.1'),
    /** Apps' default domains are `<app>.<space>.<base domain>` (computed when an app is created). */
    PIER_BASE_DOMAIN: hostnameSchema.default('pier.localhost'),
    /** HAProxy's configuration, sockets, pid file and log. Unix socket paths are short: keep it so. */
    PIER_ROUTER_STATE_DIR: z
      .string()
      .startsWith('/', 'must be an absolute path')
      .max(80, 'at most 80 characters: HAProxy sockets live there and socket paths are limited to 107')
      .default('/var/lib/pier/router'),
    PIER_ROUTER_HAPROXY_BIN: z.string().min(1).default('/usr/sbin/haproxy'),
    /** How long open requests may take to finish when the router stops. */
    PIER_ROUTER_STOP_GRACE_MS: envInt(5000, 0, 600_000),
    /**
     * Proxies in front of the router (load balancers, CDNs): their `X-Forwarded-For`, `Forwarded` and
     * `X-Real-IP` are passed on; everyone else's are replaced with what the router sees.
     */
    PIER_ROUTER_TRUSTED_PROXIES: addressList,
    /**
     * Requests HAProxy sends one instance at once, unless its version's spec sets
     * `maxConcurrentRequests`; the rest wait in HAProxy's queue. Small apps (a busybox httpd keeps a
     * 9-deep accept queue and drops SYNs beyond it) need this bounded.
     */
    PIER_ROUTER_SERVER_MAXCONN: envInt(16, 1, 10_000),
    /**
     * How long a request may wait in that queue for an instance; then 503 APP_OVERLOADED with
     * `Retry-After`. A few seconds: a client is better told than kept waiting.
     */
    PIER_ROUTER_QUEUE_TIMEOUT_MS: envInt(3000, 100, 60_000),
    /**
     * How long a worker replaced by a reload may keep its open connections (WebSockets, SSE) before it
     * is stopped hard. Until then it lives as long as its last connection, or until `timeout tunnel`
     * (1 h idle) ends it: a long limit keeps long-lived connections of every app alive across the rare
     * reloads, at the cost of old workers (each a copy of the configuration) piling up if reloads
     * are frequent. Default one day; at least a minute, at most 30 days.
     */
    PIER_ROUTER_HARD_STOP_AFTER_S: envInt(86_400, 60, 30 * 86_400),
    /**
     * HAProxy's threads (`nbthread`). 0, the default, leaves it to HAProxy: one per CPU it may run on
     * when it starts. Set it to the CPUs the proxy is given when it is confined to fewer later (threads
     * sharing one CPU contend).
     */
    PIER_ROUTER_HAPROXY_THREADS: envInt(0, 0, 64),
  })
  .refine(
    (c) =>
      new Set([c.PIER_ROUTER_HTTP_PORT, c.PIER_ROUTER_HTTPS_PORT, c.PIER_ROUTER_METRICS_PORT]).size === 3,
    {
      path: ['PIER_ROUTER_METRICS_PORT'],
      message: 'PIER_ROUTER_HTTP_PORT, PIER_ROUTER_HTTPS_PORT and PIER_ROUTER_METRICS_PORT must differ',
    },
  );

export type RouterConfig = z.output<typeof routerConfigSchema>;

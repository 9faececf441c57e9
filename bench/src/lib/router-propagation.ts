import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { type ApiClient, sleep, waitFor } from './local-platform';
import { instancesOf, scale, setTraffic } from './router-apps';
import { progress } from './report';
import { type RoutedSampler } from './router-sampler';

/** What the agents report about instances, as seen on NATS (JetStream publishes are plain NATS messages). */
export class InstanceEventWatch {
  /** Instance id → the container's hostname (Docker's default: the first 12 characters of its id). */
  readonly hostnames = new Map<string, string>();
  /** Instance id → when it turned ready (the event's `occurredAt`) and when we received the event. */
  readonly ready = new Map<string, { occurredAt: number; receivedAt: number }>();
  private constructor(
    private readonly nc: NatsConnection,
    private readonly sub: Subscription,
  ) {}

  static async start(url: string, prefix: string): Promise<InstanceEventWatch> {
    const nc = await connect({ servers: url.split(','), name: 'pier-bench-router' });
    const sub = nc.subscribe(`${prefix}.events.runtime.instance.*`);
    const watch = new InstanceEventWatch(nc, sub);
    void watch.consume();
    await nc.flush();
    return watch;
  }

  private async consume(): Promise<void> {
    for await (const msg of this.sub) {
      const receivedAt = Date.now();
      try {
        const event = msg.json<{
          type: string;
          data: { instanceId: string; containerId?: string };
          metadata: { occurredAt: string };
        }>();
        if (event.type === 'InstanceStarted' && event.data.containerId) {
          this.hostnames.set(event.data.instanceId, event.data.containerId.slice(0, 12));
        } else if (event.type === 'InstanceReady') {
          this.ready.set(event.data.instanceId, {
            occurredAt: Date.parse(event.metadata.occurredAt),
            receivedAt,
          });
        }
      } catch {
        // not an event of ours
      }
    }
  }

  async close(): Promise<void> {
    this.sub.unsubscribe();
    await this.nc.close();
  }
}

export interface ReadyToRouted {
  /** InstanceReady's occurredAt → first response from that instance through the router, ms. */
  readonly propagationMs: number;
  /** occurredAt → the event reached a NATS subscriber, ms. */
  readonly eventDeliveryMs: number;
  /** Requests through the router during the repetition (scale up and back down), and how many failed. */
  readonly requests: number;
  readonly failed: number;
}

/**
 * Scales `app` v1 from `base` to `base + 1` instances with routed traffic flowing, and times how long after
 * the new instance turned ready the router first sent it a request; then scales back and waits for the
 * extra instance to be gone.
 */
export async function readyToRouted(
  api: ApiClient,
  app: string,
  base: number,
  watch: InstanceEventWatch,
  sampler: RoutedSampler,
): Promise<ReadyToRouted> {
  // Instances that exist now or turned ready before (scaled away by an earlier repetition) are not new.
  const before = new Set([...(await instancesOf(api, app)).map((i) => i.id), ...watch.ready.keys()]);
  sampler.reset();
  await scale(api, app, 1, base + 1);
  const fresh = await waitFor(
    `a new instance of ${app} ready`,
    90_000,
    async () => {
      for (const [id, ready] of watch.ready)
        if (!before.has(id) && watch.hostnames.has(id)) return { id, ready };
      return undefined;
    },
    20,
  );
  const hostname = watch.hostnames.get(fresh.id)!;
  const first = await waitFor(
    `a routed response from instance ${fresh.id} (${hostname})`,
    30_000,
    async () => sampler.samples.find((s) => s.instance === hostname),
    20,
  );
  await scale(api, app, 1, base);
  await waitFor(
    `${app} back to ${base} instance(s)`,
    90_000,
    async () => ((await instancesOf(api, app)).length === base ? true : undefined),
    100,
  );
  return {
    requests: sampler.samples.length,
    failed: sampler.samples.filter((s) => s.status === 0 || s.status >= 500).length,
    propagationMs: first.doneAt - fresh.ready.occurredAt,
    eventDeliveryMs: fresh.ready.receivedAt - fresh.ready.occurredAt,
  };
}

export interface WeightSwitch {
  /** The PUT's start → the last response from the old version (or the first from the new one if later), ms. */
  readonly propagationMs: number;
  /** The PUT's start → the first response from the new version, ms. */
  readonly firstNewMs: number;
  /** How long the API took to answer the PUT, ms. */
  readonly apiMs: number;
  /** Responses from the old version to requests sent after the PUT started. */
  readonly oldAfterCall: number;
  /** Failed requests (status 0 or 5xx) among those sent after the PUT started. */
  readonly failed: number;
  /** Their status or socket error, and when they were sent relative to the PUT's start (ms). */
  readonly failures: readonly { status: number; error?: string; sentMs: number }[];
  /** Requests sent after the PUT started until the switch was confirmed. */
  readonly requests: number;
}

/**
 * Moves all of `app`'s traffic to the version labelled `to` (`weights`), with routed traffic flowing: from
 * the API call until every response comes from it, confirmed by `settleMs` of only-new responses.
 */
export async function weightSwitch(
  api: ApiClient,
  app: string,
  weights: Record<string, number>,
  to: string,
  sampler: RoutedSampler,
  settleMs = 1500,
): Promise<WeightSwitch> {
  sampler.reset();
  const t0 = Date.now();
  await setTraffic(api, app, weights);
  const apiMs = Date.now() - t0;
  const deadline = t0 + 60_000;
  for (;;) {
    const after = sampler.since(t0).filter((s) => s.status >= 200 && s.status < 500);
    const old = after.filter((s) => s.label !== to);
    const fresh = after.filter((s) => s.label === to);
    const lastOld = old.length ? Math.max(...old.map((s) => s.doneAt)) : 0;
    const firstNew = fresh.length ? Math.min(...fresh.map((s) => s.doneAt)) : 0;
    const settledSince = Math.max(lastOld, firstNew);
    if (firstNew && Date.now() - settledSince >= settleMs) {
      const all = sampler.since(t0);
      const failures = all
        .filter((s) => s.status === 0 || s.status >= 500)
        .map((s) => ({ status: s.status, ...(s.error ? { error: s.error } : {}), sentMs: s.sentAt - t0 }));
      return {
        propagationMs: settledSince - t0,
        firstNewMs: firstNew - t0,
        apiMs,
        oldAfterCall: old.length,
        failed: failures.length,
        failures,
        requests: all.length,
      };
    }
    if (Date.now() > deadline) throw new Error(`traffic of ${app} did not move to ${to} within 60 s`);
    await sleep(25);
  }
}

/** Logs one repetition. */
export function logRep(what: string, i: number, n: number, ms: number): void {
  progress(`${what} ${i + 1}/${n}: ${ms} ms`);
}

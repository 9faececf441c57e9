import { type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { routerPresenceSchema, type Subjects } from '@pier/contracts';

/** How long after a router was last heard a silent one still counts as one coming back. */
const REMEMBERED_MS = 10 * 60_000;

/**
 * The routers this agent has heard of (`Subjects.routerPresence`): each says it is alive every few
 * seconds and that it stopped when it stops. One heard lately that never said it stopped was killed: its
 * HAProxy still runs on the table it had and sends requests to instances it does not know are stopping,
 * until the router is back. Stops wait for it (see `NatsPlatformServices.drainInstance`).
 */
export class RouterPresence {
  private readonly heard = new Map<string, number>();
  private subscription?: Subscription;

  start(nc: NatsConnection, subjects: Subjects): this {
    this.subscription = nc.subscribe(subjects.routerPresence, {
      callback: (error, msg) => {
        if (error) return;
        let parsed;
        try {
          parsed = routerPresenceSchema.safeParse(msg.json());
        } catch {
          return; // not JSON
        }
        if (!parsed.success) return;
        if (parsed.data.state === 'stopped') this.heard.delete(parsed.data.router);
        else this.heard.set(parsed.data.router, Date.now());
      },
    });
    return this;
  }

  /** Whether a router heard lately went silent without saying it stopped: it may be coming back. */
  awaited(now = Date.now()): boolean {
    for (const [router, at] of this.heard) {
      if (now - at < REMEMBERED_MS) return true;
      this.heard.delete(router);
    }
    return false;
  }

  stop(): void {
    this.subscription?.unsubscribe();
  }
}

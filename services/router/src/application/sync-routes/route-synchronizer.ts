import { Inject, Injectable } from '@nestjs/common';
import { type PierEvent } from '@pier/contracts';
import { type Logger } from '@pier/observability';
import {
  drainInstance,
  emptyRouteTable,
  evolve,
  evolveAll,
  panics,
  type RouteTable,
} from '../../domain/route-table';
import {
  DATA_PLANE,
  type DataPlane,
  ROUTER_LOGGER,
  RUNTIME_EVENT_FEED,
  type RuntimeEventFeed,
  type Subscription,
} from '../ports';

/** After a failed apply, the next attempt comes this much later (the table may have moved on by then). */
const RETRY_AFTER_MS = 1000;

interface Waiters {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Owns the route table and keeps the data plane on it. On start it replays every runtime event, then
 * starts the data plane with the result, then follows live events. Changes are coalesced: while one
 * apply runs, later changes wait and go out together with the table as it is then.
 */
@Injectable()
export class RouteSynchronizer {
  private table: RouteTable = emptyRouteTable();
  private live = false;
  private stopped = false;
  private feed?: Subscription;
  private waiting?: Waiters;
  private applying = false;
  private retry?: NodeJS.Timeout;
  private lastPosition = 0;
  /** Events of the history, folded in one batch once it has been read. */
  private backlog: PierEvent[] | undefined = [];
  /** Versions in panic in the table last applied (`space/app/version` → instances kept), for the log. */
  private panicking = new Map<string, number>();
  /** Drains waiting for the table to reach a position of the stream (see `drain`). */
  private readonly behind = new Set<{ readonly position: number; resolve(reached: boolean): void }>();

  constructor(
    @Inject(RUNTIME_EVENT_FEED) private readonly events: RuntimeEventFeed,
    @Inject(DATA_PLANE) private readonly dataPlane: DataPlane,
    @Inject(ROUTER_LOGGER) private readonly logger: Logger,
  ) {}

  /** Rebuilds the table from the event history, starts the data plane on it, then follows live events. */
  async start(): Promise<void> {
    this.feed = await this.events.follow((event, position) => this.onEvent(event, position));
    this.table = evolveAll(this.table, this.backlog ?? []);
    this.backlog = undefined;
    for (const waiter of this.behind) if (waiter.position <= this.lastPosition) waiter.resolve(true);
    this.logger.info(
      { position: this.lastPosition, apps: this.table.apps.size, instances: this.table.instances.size },
      'route table rebuilt from events',
    );
    await this.dataPlane.start(this.table);
    this.logPanics(this.table);
    this.live = true;
    // Events that arrived while the data plane started (a failure is logged and retried).
    await this.sync().catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    for (const waiter of this.behind) waiter.resolve(false);
    await this.feed?.stop();
    this.waiting?.resolve();
    await this.dataPlane.stop();
  }

  /** The current table (read-only). */
  current(): RouteTable {
    return this.table;
  }

  /** Whether the history has been replayed and the data plane follows live events. */
  isLive(): boolean {
    return this.live && !this.stopped;
  }

  /**
   * Takes an instance out of rotation and resolves once the data plane no longer sends it new requests.
   * False when the router does not know the instance. The drain is local to this router and lasts
   * until the instance's own events take it out (stop requested, stopped).
   *
   * `after` is the stream position of the agent's latest stored fact about the instance (its not-ready
   * report before a stop): the drain first waits, until `deadline`, for the table to hold it. What led
   * to the stop (the readiness of the instances that replace it, the traffic moved to them) is stored
   * before that, so the table then routes to them. The drain request comes over core NATS, the events
   * through a consumer that may lag (it resumes some time after a NATS restart): draining on a table
   * that still waits for the replacements' readiness would leave the app without an instance to route
   * to, and answer 503 until the feed caught up. Past the deadline it drains on the table it has.
   */
  async drain(instanceId: string, options: { after?: number; deadline?: number } = {}): Promise<boolean> {
    const { after, deadline } = options;
    if (after !== undefined && this.lastPosition < after) {
      const reached = await this.reached(after, deadline ?? Date.now());
      if (!reached && !this.stopped) {
        this.logger.warn(
          { instanceId, position: this.lastPosition, after },
          'draining on a route table behind the stop: the events before it have not arrived in time',
        );
      }
    }
    if (!this.table.instances.has(instanceId)) return false;
    this.table = drainInstance(this.table, instanceId);
    await this.sync();
    return true;
  }

  /** Resolves true once every event up to `position` is in the table, false at `deadline` or a stop. */
  private reached(position: number, deadline: number): Promise<boolean> {
    if (this.lastPosition >= position) return Promise.resolve(true);
    if (this.stopped || Date.now() >= deadline) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => waiter.resolve(false), deadline - Date.now());
      const waiter = {
        position,
        resolve: (reached: boolean) => {
          clearTimeout(timer);
          this.behind.delete(waiter);
          resolve(reached);
        },
      };
      this.behind.add(waiter);
    });
  }

  /** Applies the current table; resolves when an apply that started after this call has finished. */
  sync(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (!this.waiting) {
      let resolve!: () => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      this.waiting = { promise, resolve, reject };
    }
    const { promise } = this.waiting;
    if (!this.applying) void this.pump();
    return promise;
  }

  private onEvent(event: PierEvent, position: number): void {
    this.lastPosition = position;
    if (this.backlog) {
      this.backlog.push(event);
      return;
    }
    const next = evolve(this.table, event);
    if (next !== this.table) {
      this.table = next;
      if (this.live) this.sync().catch(() => undefined);
    }
    for (const waiter of this.behind) if (waiter.position <= position) waiter.resolve(true);
  }

  /** Says when a version enters or leaves panic (the metric `pier_router_panic` shows it all along). */
  private logPanics(table: RouteTable): void {
    const now = new Map(panics(table).map((p) => [`${p.space}/${p.app}/${p.version}`, p.instances]));
    for (const [key, instances] of now) {
      if (!this.panicking.has(key)) {
        this.logger.warn(
          { version: key, instances },
          'no instance of the version is ready: panic, requests go to its running instances that had been ready',
        );
      }
    }
    for (const key of this.panicking.keys()) {
      if (!now.has(key)) this.logger.info({ version: key }, 'version out of panic');
    }
    this.panicking = now;
  }

  private async pump(): Promise<void> {
    this.applying = true;
    while (this.waiting && !this.stopped) {
      const batch = this.waiting;
      this.waiting = undefined;
      try {
        const table = this.table;
        await this.dataPlane.apply(table);
        this.logPanics(table);
        batch.resolve();
      } catch (error) {
        this.logger.error({ err: error }, 'could not apply the route table to the data plane; retrying');
        batch.reject(error);
        clearTimeout(this.retry);
        this.retry = setTimeout(() => this.sync().catch(() => undefined), RETRY_AFTER_MS);
        this.retry.unref();
      }
    }
    this.applying = false;
  }
}

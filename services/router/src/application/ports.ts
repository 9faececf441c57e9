import { type PierEvent } from '@pier/contracts';
import { type RouteTable } from '../domain/route-table';

export const RUNTIME_EVENT_FEED = Symbol('RuntimeEventFeed');
export const DATA_PLANE = Symbol('DataPlane');
export const ROUTER_LOGGER = Symbol('RouterLogger');

export interface Subscription {
  stop(): Promise<void>;
}

/** The events of the runtime context, from the first one, then live. */
export interface RuntimeEventFeed {
  /**
   * Calls `onEvent` with every runtime event in stream order, the whole history first. Resolves once
   * every event stored when it was called has been delivered; live events keep coming until `stop`.
   */
  follow(onEvent: (event: PierEvent, position: number) => void): Promise<Subscription>;
}

/** What the data plane reports about itself. */
export interface DataPlaneStatus {
  readonly running: boolean;
  /** Seamless configuration reloads since the router started. */
  readonly reloads: number;
  /** Times the proxy died and was started again. */
  readonly restarts: number;
  /** Membership changes applied without a reload. */
  readonly runtimeCommands: number;
  /** Maps (hosts, weights) replaced without a reload. */
  readonly mapUpdates: number;
}

/** The proxy that carries the traffic, driven from the route table. */
export interface DataPlane {
  /** Starts serving `table`, or takes over a proxy a previous router left running and brings it to `table`. */
  start(table: RouteTable): Promise<void>;
  /**
   * Brings the data plane to `table` and resolves once the change is in effect: membership, readiness,
   * weights and hosts through the runtime API, anything else (apps, versions, sticky sessions, slot
   * growth) by a seamless reload. While
   * the proxy is being restarted it resolves at once: the restart serves the latest table.
   */
  apply(table: RouteTable): Promise<void>;
  /** Stops the proxy; open connections get a short grace. */
  stop(): Promise<void>;
  /** Throws unless the proxy answers now. */
  check(): Promise<void>;
  status(): DataPlaneStatus;
}

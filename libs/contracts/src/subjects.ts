/**
 * Subject and stream names, all derived from one prefix so that every test file (and every
 * installation sharing a NATS server) can live in its own namespace.
 */
export interface Subjects {
  readonly prefix: string;
  /** The stream holding every domain event. */
  readonly eventStream: string;
  /** The stream holding messages that a consumer gave up on, with their error. */
  readonly deadLetterStream: string;
  /** Subject of one aggregate: one aggregate instance = one subject. */
  aggregate(aggregateType: string, aggregateId: string): string;
  /** Every event of one aggregate type. */
  aggregateType(aggregateType: string): string;
  /** Every event of one bounded context (what one service's projections follow). */
  context(context: BoundedContext): string;
  /** Every event. */
  readonly allEvents: string;
  /** Dead letters of one consumer. */
  deadLetter(consumer: string): string;
  /** Every dead letter. */
  readonly allDeadLetters: string;
  /** A request/reply endpoint. */
  rpc(service: string, name: string): string;
  /** Heartbeats of one node (core NATS: liveness signals are not events). */
  heartbeat(clusterId: string, nodeId: string): string;
  readonly allHeartbeats: string;
  /** Routers say they run (and, stopping, that they stopped) here: core NATS, like heartbeats. */
  readonly routerPresence: string;
  /**
   * Core NATS: the auth service says here, once its read model holds a change, that authorizations
   * given before it may no longer hold (a session ended, a token revoked, a membership changed), so
   * whoever keeps them drops them.
   */
  readonly tenancyChanged: string;
}

/**
 * Bounded contexts and their aggregate types. Event subjects are `<prefix>.events.<context>.<type>.<id>`,
 * so a consumer can follow one context with a single filter (nats-server 2.9 allows one per consumer).
 */
export const AGGREGATE_CONTEXTS = {
  cluster: 'clusters',
  'cluster-name': 'clusters',
  node: 'clusters',
  user: 'tenancy',
  'user-email': 'tenancy',
  session: 'tenancy',
  'api-token': 'tenancy',
  space: 'tenancy',
  secret: 'tenancy',
  audit: 'audit',
  app: 'runtime',
  instance: 'runtime',
  'node-assignment': 'runtime',
  domain: 'runtime',
  // The scheduler's lease and plan journal: no projection of the runtime context sees them.
  'scheduler-lease': 'scheduling',
} as const;
export type BoundedContext = (typeof AGGREGATE_CONTEXTS)[keyof typeof AGGREGATE_CONTEXTS] | 'other';

/** The context of an aggregate type; types outside Pier's contexts (tests' own) fall in `other`. */
export function contextOf(aggregateType: string): BoundedContext {
  return (AGGREGATE_CONTEXTS as Record<string, BoundedContext>)[aggregateType] ?? 'other';
}

const TOKEN = /^[A-Za-z0-9_-]+$/;

function token(value: string, what: string): string {
  if (!TOKEN.test(value)) throw new Error(`${what} "${value}" is not a valid subject token`);
  return value;
}

export function subjectsFor(prefix: string): Subjects {
  token(prefix, 'prefix');
  const upper = prefix.toUpperCase().replace(/-/g, '_');
  return {
    prefix,
    eventStream: `${upper}_EVENTS`,
    deadLetterStream: `${upper}_DLQ`,
    aggregate: (type, id) =>
      `${prefix}.events.${contextOf(type)}.${token(type, 'aggregate type')}.${token(id, 'aggregate id')}`,
    aggregateType: (type) => `${prefix}.events.${contextOf(type)}.${token(type, 'aggregate type')}.*`,
    context: (context) => `${prefix}.events.${context}.>`,
    allEvents: `${prefix}.events.>`,
    deadLetter: (consumer) => `${prefix}.dlq.${token(consumer, 'consumer')}`,
    allDeadLetters: `${prefix}.dlq.*`,
    rpc: (service, name) => `${prefix}.rpc.${token(service, 'service')}.${token(name, 'rpc name')}`,
    heartbeat: (clusterId, nodeId) =>
      `${prefix}.hb.${token(clusterId, 'cluster id')}.${token(nodeId, 'node id')}`,
    allHeartbeats: `${prefix}.hb.>`,
    routerPresence: `${prefix}.presence.router`,
    tenancyChanged: `${prefix}.notice.tenancy-changed`,
  };
}

import { randomUUID } from 'node:crypto';
import {
  AUDIT,
  AuditRecorded,
  AuditRequestAccepted,
  type Cause,
  createMessage,
  type PierEvent,
  PierError,
  PLATFORM_AUDIT_ID,
  storableText,
  systemActor,
} from '@pier/contracts';
import { type EventStore } from '@pier/eventstore';
import { type Counter, counter, type Logger, Registry } from '@pier/observability';
import { type FastifyReply, type FastifyRequest } from 'fastify';
import { AuditRateLimiter, type AuditRateLimits, type DroppedRecords } from '../../domain/audit-rate-limit';
import { routeIndex, type RouteSpec } from './api-route';
import { type RequestAudit } from './request-context';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const SWEEP_MS = 60_000;
const DEFAULT_LIMITS: AuditRateLimits = {
  burst: 20,
  perMinute: 30,
  globalPerMinute: 600,
  maxAddresses: 10_000,
};

type AuditRecord = Omit<AuditRecorded['data'], 'requestId'>;

/**
 * The audit log of the API, as events on the audit subject of a space or of the platform.
 *
 * - A mutating request the caller is authorized for is recorded *before* it acts (`accepted`, called by
 *   `AccessGuard`): if that record cannot be stored the request fails with 503 and nothing happens. Its
 *   outcome is recorded before the answer leaves, completing the first record. It goes to the space's
 *   log only when the caller was allowed into that space (`auditSpace`), else to the platform's.
 * - A public route (login, refresh) acts only for a caller it authenticates on the spot: its success is
 *   recorded before the answer leaves, and withheld (503) if that fails — the tokens it carried are then
 *   never seen by anyone.
 * - Anything refused or failed before authorization (anonymous, forbidden, no right to the space,
 *   invalid input) goes to the platform's log only, at a rate limited per client address; what is over
 *   is counted (`pier_audit_refused_dropped_total`) and summed up in a later record.
 */
export class AuditRecorder implements RequestAudit {
  private readonly routeOf: (request: FastifyRequest) => RouteSpec | undefined;
  private limiter = new AuditRateLimiter(DEFAULT_LIMITS);
  private dropped!: Counter<string>;
  private failures!: Counter<'record'>;
  private sweeper?: NodeJS.Timeout;

  constructor(
    private readonly store: EventStore<PierEvent>,
    routes: readonly RouteSpec[],
    private readonly logger: Logger,
  ) {
    this.routeOf = routeIndex(routes);
    this.metrics(new Registry());
  }

  /** Applies `limits` to records of refused requests and reports to `metrics`. */
  limitedBy(limits: AuditRateLimits, metrics: Registry): this {
    this.limiter = new AuditRateLimiter(limits);
    this.metrics(metrics);
    if (!this.sweeper) {
      // Drops of an address that never comes back are summed up once its bucket has filled again.
      this.sweeper = setInterval(() => void this.sweep(Date.now()), SWEEP_MS);
      this.sweeper.unref();
    }
    return this;
  }

  async accepted(request: FastifyRequest, route: RouteSpec, space: string | null): Promise<void> {
    if (!MUTATING.has(request.method)) return;
    const requestId = randomUUID();
    const { status: _s, outcome: _o, errorCode: _e, ...described } = this.describe(request, route, space);
    const event = createMessage(
      AuditRequestAccepted,
      { requestId, ...described },
      this.cause(request),
      now(),
    );
    try {
      await this.store.append(AUDIT, space ?? PLATFORM_AUDIT_ID, [event], 'any');
    } catch (error) {
      this.fail('intent', error, request);
      throw new PierError(
        'SERVICE_UNAVAILABLE',
        'the audit log cannot be written, so the request was not carried out; try again later',
      );
    }
    request.pierAuditIntent = { requestId, space };
  }

  async answering(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
    if (!MUTATING.has(request.method)) return payload;
    // Refused by admission control before anything was looked at (counted by its own metric): recording
    // each would add to the very load it sheds.
    if (request.pierErrorCode === 'API_OVERLOADED') return payload;
    const route = this.routeOf(request);
    if (!route) return payload; // no such route: nothing was acted on
    const intent = request.pierAuditIntent;
    const record = this.describe(request, route, intent?.space ?? null, reply.statusCode);
    if (intent) {
      const event = createMessage(
        AuditRecorded,
        { ...record, requestId: intent.requestId },
        this.cause(request),
        now(),
      );
      await this.append(intent.space ?? PLATFORM_AUDIT_ID, [event], 'outcome', request);
      return payload;
    }
    const event = createMessage(AuditRecorded, record, this.cause(request), now());
    if (route.access.kind === 'public' && record.outcome === 'succeeded') {
      if (await this.append(PLATFORM_AUDIT_ID, [event], 'public', request)) return payload;
      return withheld(reply);
    }
    const { admitted, dropped } = this.limiter.admit(request.ip ?? 'unknown', Date.now());
    if (!admitted) {
      this.dropped.inc();
      return payload;
    }
    await this.append(PLATFORM_AUDIT_ID, dropped ? [summary(dropped), event] : [event], 'refused', request);
    return payload;
  }

  /** Writes the summaries of addresses that went quiet after records of theirs were dropped. */
  async sweep(at: number): Promise<void> {
    const summaries = this.limiter.sweep(at).map(summary);
    if (summaries.length > 0) await this.append(PLATFORM_AUDIT_ID, summaries, 'refused', null);
  }

  private metrics(registry: Registry): void {
    this.dropped = counter(registry, {
      name: 'pier_audit_refused_dropped_total',
      help: 'Audit records of refused requests not written because their address (or all) exceeded the limit',
      labelNames: [],
    });
    this.failures = counter(registry, {
      name: 'pier_audit_append_failures_total',
      help: 'Audit records that could not be stored, by kind (intent: the request was refused with 503)',
      labelNames: ['record'],
    });
  }

  private describe(request: FastifyRequest, route: RouteSpec, space: string | null, status = 0): AuditRecord {
    const params = (request.params ?? {}) as { [key: string]: unknown };
    const accepted = request.pierAuditIntent !== null;
    return {
      action: route.operationId,
      method: request.method,
      path: request.url.split('?')[0]!.slice(0, 2000),
      space,
      target: stringsOf({ ...params, ...(request.pierAuditTarget ?? {}) }),
      status,
      outcome: outcomeOf(status, accepted, request.pierErrorCode),
      errorCode: request.pierErrorCode,
      ip: request.ip ?? null,
    };
  }

  private cause(request: FastifyRequest): Cause {
    return { messageId: randomUUID(), correlationId: request.pierCorrelationId, actor: request.pierActor };
  }

  /** Appends; answers whether it worked (a failure is logged and counted, never thrown). */
  private async append(
    subject: string,
    events: PierEvent[],
    record: string,
    request: FastifyRequest | null,
  ): Promise<boolean> {
    try {
      await this.store.append(AUDIT, subject, events, 'any');
      return true;
    } catch (error) {
      this.fail(record, error, request);
      return false;
    }
  }

  private fail(record: string, error: unknown, request: FastifyRequest | null): void {
    this.failures.inc({ record });
    this.logger.error(
      { err: error, record, correlationId: request?.pierCorrelationId },
      'audit record could not be stored',
    );
  }
}

const now = () => new Date().toISOString();

function outcomeOf(status: number, accepted: boolean, code: string | null): AuditRecord['outcome'] {
  if (status < 400) return 'succeeded';
  if (status === 401 || status === 403) return 'denied';
  // Not found before being accepted: the guard hid a space the caller has no right to.
  if (!accepted && code === 'SPACE_NOT_FOUND') return 'denied';
  return 'failed';
}

/** The record that stands for records of one address that were not written. */
function summary(d: DroppedRecords): AuditRecorded {
  const id = randomUUID();
  return createMessage(
    AuditRecorded,
    {
      action: 'auditRecordsDropped',
      method: '-',
      path: '-',
      space: null,
      target: {
        dropped: String(d.count),
        from: new Date(d.from).toISOString(),
        to: new Date(d.to).toISOString(),
      },
      status: 429,
      outcome: 'denied',
      errorCode: 'RATE_LIMITED',
      ip: d.address.slice(0, 100),
    },
    { messageId: id, correlationId: id, actor: systemActor('gateway') },
    now(),
  );
}

function withheld(reply: FastifyReply): string {
  void reply.code(503).header('content-type', 'application/json; charset=utf-8');
  return JSON.stringify({
    error: {
      code: 'SERVICE_UNAVAILABLE',
      message: 'the audit log cannot be written, so this answer is withheld; try again later',
    },
  });
}

/**
 * The string values, storable: a refused request's parameters are whatever was sent (a NUL would be
 * refused by Postgres and the record lost), so they are escaped and cut like any tenant text.
 */
function stringsOf(params: { [key: string]: unknown }): { [key: string]: string } {
  return Object.fromEntries(
    Object.entries(params)
      .filter((e): e is [string, string] => typeof e[1] === 'string')
      .map(([k, v]) => [storableText(k, 100), storableText(v, 200)]),
  );
}

import { randomUUID } from 'node:crypto';
import { type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import {
  type Actor,
  actorSchema,
  type ErrorBody,
  findIllFormedText,
  PierError,
  type RpcDefinition,
  type Subjects,
} from '@pier/contracts';
import {
  counter,
  extractTraceContext,
  histogram,
  inSpan,
  type Logger,
  type Registry,
  SpanKind,
} from '@pier/observability';
import { type z } from 'zod';
import { RPC_HEADERS } from './rpc-headers';

/** What a handler knows about the call beyond its payload. */
export interface CallMeta {
  readonly messageId: string;
  readonly correlationId: string;
  readonly actor: Actor;
  /** Epoch milliseconds after which the caller no longer waits. */
  readonly deadline: number;
}

export type RpcHandler<D extends RpcDefinition> = (
  request: z.output<D['request']>,
  meta: CallMeta,
) => Promise<z.input<D['response']>>;

/**
 * Serves RPC definitions on core NATS in a queue group, so replicas of a service share the load.
 * Requests are validated against the definition's schema; a `PierError` becomes an error reply with its
 * code, anything else an `INTERNAL` reply (logged, never leaked in detail).
 */
export class RpcServer {
  private readonly subscriptions: Subscription[] = [];
  private readonly inFlight = new Set<Promise<void>>();

  private readonly requests?: ReturnType<typeof counter<'rpc' | 'code'>>;
  private readonly duration?: ReturnType<typeof histogram<'rpc'>>;

  constructor(
    private readonly connection: NatsConnection,
    private readonly subjects: Subjects,
    private readonly queue: string,
    private readonly logger: Logger,
    metrics?: Registry,
  ) {
    if (metrics) {
      this.requests = counter(metrics, {
        name: 'pier_rpc_requests_total',
        help: 'RPC requests served, by endpoint and outcome code (ok when it succeeded)',
        labelNames: ['rpc', 'code'],
      });
      this.duration = histogram(metrics, {
        name: 'pier_rpc_duration_seconds',
        help: 'Time to serve an RPC request',
        labelNames: ['rpc'],
      });
    }
  }

  /**
   * Serves `definition`. One replica answers each request (the queue group), unless `everyReplica`:
   * then every replica answers, for requests that must reach them all (see `RpcClient.callAll`).
   */
  handle<D extends RpcDefinition>(
    definition: D,
    handler: RpcHandler<D>,
    options: { everyReplica?: boolean } = {},
  ): void {
    const subject = this.subjects.rpc(definition.service, definition.name);
    this.subscriptions.push(
      this.connection.subscribe(subject, {
        ...(options.everyReplica ? {} : { queue: this.queue }),
        callback: (error, msg) => {
          if (error) {
            this.logger.error({ err: error, subject }, 'rpc subscription failed');
            return;
          }
          const work = this.serve(definition, handler, msg).finally(() => this.inFlight.delete(work));
          this.inFlight.add(work);
        },
      }),
    );
  }

  /** Stops taking requests and waits for the ones being served. */
  async close(): Promise<void> {
    for (const s of this.subscriptions) s.unsubscribe();
    this.subscriptions.length = 0;
    await Promise.allSettled([...this.inFlight]);
  }

  private async serve<D extends RpcDefinition>(
    definition: D,
    handler: RpcHandler<D>,
    msg: Msg,
  ): Promise<void> {
    const name = `${definition.service}.${definition.name}`;
    await inSpan(
      `rpc ${name}`,
      {
        kind: SpanKind.SERVER,
        parent: extractTraceContext(msg.headers),
        attributes: { 'rpc.service': definition.service, 'rpc.method': definition.name },
      },
      async () => {
        let reply: { ok: true; data: unknown } | { ok: false; error: ErrorBody };
        const endTimer = this.duration?.startTimer({ rpc: name });
        try {
          const meta = readMeta(msg);
          if (Date.now() > meta.deadline) {
            throw new PierError('DEADLINE_EXCEEDED', `${name}: the caller stopped waiting`);
          }
          const request = parseRequest(definition, msg);
          const data = await handler(request, meta);
          reply = { ok: true, data: definition.response.parse(data) };
        } catch (error) {
          if (error instanceof PierError) {
            reply = { ok: false, error: error.toBody() };
          } else {
            this.logger.error({ err: error, rpc: name }, 'rpc handler failed');
            reply = { ok: false, error: { code: 'INTERNAL', message: `${name} failed` } };
          }
        }
        endTimer?.();
        this.requests?.inc({ rpc: name, code: reply.ok ? 'ok' : reply.error.code });
        if (msg.reply) msg.respond(JSON.stringify(reply));
      },
    );
  }
}

function parseRequest<D extends RpcDefinition>(definition: D, msg: Msg): z.output<D['request']> {
  let body: unknown;
  try {
    body = msg.json();
  } catch {
    throw new PierError('MALFORMED_JSON', 'request body is not valid JSON');
  }
  // Checked for every caller, not only the gateway: what a handler appends must be storable by every
  // projection (Postgres refuses U+0000 in text and jsonb), or one event would stall them all.
  const illFormed = findIllFormedText(body);
  if (illFormed) {
    throw new PierError('VALIDATION_FAILED', `request holds a ${illFormed.problem}`, { ...illFormed });
  }
  const parsed = definition.request.safeParse(body);
  if (!parsed.success) {
    throw new PierError('VALIDATION_FAILED', 'request does not match its schema', {
      issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    });
  }
  return parsed.data as z.output<D['request']>;
}

function readMeta(msg: Msg): CallMeta {
  const h = msg.headers;
  const actorHeader = h?.get(RPC_HEADERS.actor);
  let actor: Actor = { kind: 'anonymous', id: 'anonymous' };
  if (actorHeader) {
    const parsed = actorSchema.safeParse(safeJson(actorHeader));
    if (!parsed.success) throw new PierError('VALIDATION_FAILED', 'malformed actor header');
    actor = parsed.data;
  }
  const messageId = h?.get(RPC_HEADERS.messageId) || randomUUID();
  const deadline = Number(h?.get(RPC_HEADERS.deadline) || Date.now() + 5000);
  return {
    messageId,
    correlationId: h?.get(RPC_HEADERS.correlationId) || messageId,
    actor,
    deadline: Number.isFinite(deadline) ? deadline : Date.now() + 5000,
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

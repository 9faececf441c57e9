import { randomUUID } from 'node:crypto';
import { errors as natsErrors, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import {
  type Actor,
  type ErrorBody,
  isErrorCode,
  PierError,
  type RpcDefinition,
  type RpcRequest,
  type RpcResponse,
  type Subjects,
} from '@pier/contracts';
import { injectTraceContext, inSpan, SpanKind } from '@pier/observability';
import { RPC_HEADERS } from './rpc-headers';

/** Who is calling and on behalf of which request. */
export interface CallContext {
  readonly actor: Actor;
  readonly correlationId: string;
  /** Id of this call; generated when absent. Retries of one intent should reuse it. */
  readonly messageId?: string;
  /** Time budget for the call; the callee abandons work past the deadline. */
  readonly timeoutMs?: number;
}

type Reply = { ok: true; data: unknown } | { ok: false; error: ErrorBody };

/** What every replica that answered a `callAll` said: its response, or its error. */
export type AllReplies<D extends RpcDefinition> = {
  readonly responses: RpcResponse<D>[];
  readonly errors: PierError[];
};

/**
 * Typed request/reply over core NATS. Failures come back as `PierError` with the callee's code;
 * a missing service is `SERVICE_UNAVAILABLE` and a call past its deadline is `DEADLINE_EXCEEDED`.
 */
export class RpcClient {
  constructor(
    private readonly connection: NatsConnection,
    private readonly subjects: Subjects,
    private readonly defaultTimeoutMs = 5000,
  ) {}

  /**
   * Asks every replica serving `definition` (served with `everyReplica`) and gathers their answers:
   * until `timeoutMs` when none answers, else until no further answer came for `stallMs` after the last.
   * No replica at all is `SERVICE_UNAVAILABLE`; none answering in time is `DEADLINE_EXCEEDED`.
   */
  async callAll<D extends RpcDefinition>(
    definition: D,
    request: RpcRequest<D>,
    context: CallContext & { readonly stallMs?: number },
  ): Promise<AllReplies<D>> {
    const subject = this.subjects.rpc(definition.service, definition.name);
    const timeout = context.timeoutMs ?? this.defaultTimeoutMs;
    return inSpan(
      `rpc ${definition.service}.${definition.name} (all)`,
      {
        kind: SpanKind.CLIENT,
        attributes: { 'rpc.service': definition.service, 'rpc.method': definition.name },
      },
      async () => {
        const responses: RpcResponse<D>[] = [];
        const errors: PierError[] = [];
        try {
          const replies = await this.connection.requestMany(subject, JSON.stringify(request), {
            strategy: 'stall',
            maxWait: timeout,
            stall: context.stallMs ?? 200,
            headers: this.headers(context, timeout),
          });
          for await (const msg of replies) {
            // A status message (no responders) carries no payload.
            if (msg.data.length === 0) continue;
            const reply = msg.json<Reply>();
            if (reply.ok) responses.push(definition.response.parse(reply.data) as RpcResponse<D>);
            else errors.push(replyError(reply.error));
          }
        } catch (error) {
          throw translateTransportError(error, definition);
        }
        if (responses.length === 0 && errors.length === 0) {
          const what = `${definition.service}.${definition.name}`;
          throw new PierError('DEADLINE_EXCEEDED', `no ${definition.service} answered ${what} in time`, {
            rpc: what,
          });
        }
        return { responses, errors };
      },
    );
  }

  async call<D extends RpcDefinition>(
    definition: D,
    request: RpcRequest<D>,
    context: CallContext,
  ): Promise<RpcResponse<D>> {
    const subject = this.subjects.rpc(definition.service, definition.name);
    const timeout = context.timeoutMs ?? this.defaultTimeoutMs;
    return inSpan(
      `rpc ${definition.service}.${definition.name}`,
      {
        kind: SpanKind.CLIENT,
        attributes: { 'rpc.service': definition.service, 'rpc.method': definition.name },
      },
      async () => {
        let reply: Reply;
        try {
          const msg = await this.connection.request(subject, JSON.stringify(request), {
            timeout,
            headers: this.headers(context, timeout),
          });
          reply = msg.json<Reply>();
        } catch (error) {
          throw translateTransportError(error, definition);
        }
        if (reply.ok) return definition.response.parse(reply.data) as RpcResponse<D>;
        throw replyError(reply.error);
      },
    );
  }

  /** The call's facts in NATS headers, and the trace context. */
  private headers(context: CallContext, timeoutMs: number) {
    const hdrs = natsHeaders();
    hdrs.set(RPC_HEADERS.messageId, context.messageId ?? randomUUID());
    hdrs.set(RPC_HEADERS.correlationId, context.correlationId);
    hdrs.set(RPC_HEADERS.actor, JSON.stringify(context.actor));
    hdrs.set(RPC_HEADERS.deadline, String(Date.now() + timeoutMs));
    injectTraceContext(hdrs);
    return hdrs;
  }
}

function replyError(error: ErrorBody | undefined): PierError {
  const code = isErrorCode(error?.code) ? error.code : 'INTERNAL';
  return new PierError(code, error?.message ?? 'unknown error', error?.details);
}

function translateTransportError(error: unknown, definition: RpcDefinition): unknown {
  const what = `${definition.service}.${definition.name}`;
  const cause = error instanceof natsErrors.RequestError ? error.cause : undefined;
  if (
    error instanceof natsErrors.NoRespondersError ||
    cause instanceof natsErrors.NoRespondersError ||
    (error instanceof natsErrors.RequestError && error.isNoResponders())
  ) {
    return new PierError('SERVICE_UNAVAILABLE', `the ${definition.service} service is not available`, {
      rpc: what,
    });
  }
  if (error instanceof natsErrors.TimeoutError || cause instanceof natsErrors.TimeoutError) {
    return new PierError('DEADLINE_EXCEEDED', `${what} did not answer in time`, { rpc: what });
  }
  if (error instanceof natsErrors.ClosedConnectionError || error instanceof natsErrors.ConnectionError) {
    return new PierError('SERVICE_UNAVAILABLE', `messaging is not available: ${error.message}`, {
      rpc: what,
    });
  }
  return error;
}

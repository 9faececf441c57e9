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
        const hdrs = natsHeaders();
        hdrs.set(RPC_HEADERS.messageId, context.messageId ?? randomUUID());
        hdrs.set(RPC_HEADERS.correlationId, context.correlationId);
        hdrs.set(RPC_HEADERS.actor, JSON.stringify(context.actor));
        hdrs.set(RPC_HEADERS.deadline, String(Date.now() + timeout));
        injectTraceContext(hdrs);
        let reply: Reply;
        try {
          const msg = await this.connection.request(subject, JSON.stringify(request), {
            timeout,
            headers: hdrs,
          });
          reply = msg.json<Reply>();
        } catch (error) {
          throw translateTransportError(error, definition);
        }
        if (reply.ok) return definition.response.parse(reply.data) as RpcResponse<D>;
        const code = isErrorCode(reply.error?.code) ? reply.error.code : 'INTERNAL';
        throw new PierError(code, reply.error?.message ?? 'unknown error', reply.error?.details);
      },
    );
  }
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

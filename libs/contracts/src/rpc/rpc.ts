import { type z } from 'zod';

/**
 * A request/reply endpoint between services: `service.name` with typed request and response. The
 * subject is derived with `Subjects.rpc(service, name)`.
 */
export interface RpcDefinition<TReq extends z.ZodType = z.ZodType, TRes extends z.ZodType = z.ZodType> {
  readonly service: string;
  readonly name: string;
  readonly request: TReq;
  readonly response: TRes;
  /** Whether the call changes state (commands) or only reads (queries). */
  readonly kind: 'command' | 'query';
}

export function defineRpc<TReq extends z.ZodType, TRes extends z.ZodType>(
  definition: RpcDefinition<TReq, TRes>,
): RpcDefinition<TReq, TRes> {
  return definition;
}

export type RpcRequest<D> = D extends RpcDefinition<infer Q, z.ZodType> ? z.input<Q> : never;
export type RpcResponse<D> = D extends RpcDefinition<z.ZodType, infer R> ? z.output<R> : never;

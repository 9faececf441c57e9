import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Inject } from '@nestjs/common';
import { type ErrorBody, PierError } from '@pier/contracts';
import { type Logger } from '@pier/observability';
import { type FastifyReply, type FastifyRequest } from 'fastify';
import { HTTP_STATUS } from './http-status';

export const GATEWAY_LOGGER = Symbol('GatewayLogger');

/**
 * Turns every failure into the public error format `{"error": {code, message, details}}`. Expected
 * failures carry a code; anything else is logged and answered as `INTERNAL` without internals.
 */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  constructor(@Inject(GATEWAY_LOGGER) private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const body = toErrorBody(exception);
    const status = HTTP_STATUS[body.code];
    if (status >= 500) this.logger.error({ err: exception }, 'request failed');
    request.pierErrorCode = body.code;
    const retryAfter = body.details?.retryAfterSeconds;
    if (body.code === 'RATE_LIMITED' && typeof retryAfter === 'number')
      void reply.header('retry-after', String(retryAfter));
    void reply.status(status).send({ error: body });
  }
}

/** Maps known failures (our own, Nest's, Fastify's) to an error body with a stable code. */
export function toErrorBody(exception: unknown): ErrorBody {
  if (exception instanceof PierError) return exception.toBody();
  // Nest wraps Fastify's own failures (body parsing, limits) in an HttpException; the cause says which.
  const cause =
    exception instanceof HttpException ? (exception.cause as { code?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string' && cause.code.startsWith('FST_')) return toErrorBody(cause);
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    if (status === 404) return { code: 'ROUTE_NOT_FOUND', message: 'no such route' };
    if (status === 405) return { code: 'METHOD_NOT_ALLOWED', message: 'method not allowed on this route' };
    if (status === 413) return { code: 'PAYLOAD_TOO_LARGE', message: 'the request body is too large' };
    if (status === 415)
      return { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'the request body must be application/json' };
    if (status < 500) return { code: 'VALIDATION_FAILED', message: exception.message };
  }
  const fastify = exception as { code?: string; statusCode?: number; message?: string };
  switch (fastify?.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { code: 'MALFORMED_JSON', message: 'the request body is not valid JSON' };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'PAYLOAD_TOO_LARGE', message: 'the request body is too large' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'the request body must be application/json' };
  }
  if (exception instanceof SyntaxError && fastify.statusCode === 400) {
    return { code: 'MALFORMED_JSON', message: 'the request body is not valid JSON' };
  }
  if (fastify?.statusCode === 413)
    return { code: 'PAYLOAD_TOO_LARGE', message: 'the request body is too large' };
  if (fastify?.statusCode === 415)
    return { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'the request body must be application/json' };
  if (fastify?.statusCode === 400)
    return { code: 'VALIDATION_FAILED', message: fastify.message ?? 'bad request' };
  return { code: 'INTERNAL', message: 'internal error' };
}

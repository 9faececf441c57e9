import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Inject } from '@nestjs/common';
import { type ErrorBody, PierError } from '@pier/contracts';
import { MAX_PARAM_LENGTH } from '@pier/nest';
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

/** The public answer to a failure: its status and body. Also formats what Fastify answers itself. */
export function errorReply(exception: unknown): { status: number; body: { error: ErrorBody } } {
  const body = toErrorBody(exception);
  return { status: HTTP_STATUS[body.code], body: { error: body } };
}

const NOT_JSON: ErrorBody = { code: 'MALFORMED_JSON', message: 'the request body is not valid JSON' };
const TOO_LARGE: ErrorBody = { code: 'PAYLOAD_TOO_LARGE', message: 'the request body is too large' };
const ONLY_JSON: ErrorBody = {
  code: 'UNSUPPORTED_MEDIA_TYPE',
  message: 'the request body must be application/json',
};
const BAD_REQUEST: ErrorBody = { code: 'VALIDATION_FAILED', message: 'the HTTP request is malformed' };

/**
 * Every Fastify error a request can cause (`FST_ERR_*`, raised while routing or parsing the body),
 * with its public code. Failures of the server's own making (a misregistered route, an async
 * constraint that throws) are absent on purpose: they stay `INTERNAL`.
 */
const FASTIFY_ERRORS: Readonly<Record<string, ErrorBody>> = {
  FST_ERR_BAD_URL: { code: 'VALIDATION_FAILED', message: 'the URL is not validly percent-encoded' },
  FST_ERR_INVALID_URL: { code: 'VALIDATION_FAILED', message: 'the URL is not valid' },
  FST_ERR_MAX_PARAM_LENGTH: {
    code: 'URI_TOO_LONG',
    message: `a path parameter is longer than ${MAX_PARAM_LENGTH} characters`,
  },
  FST_ERR_NOT_FOUND: { code: 'ROUTE_NOT_FOUND', message: 'no such route' },
  FST_ERR_CTP_INVALID_JSON_BODY: NOT_JSON,
  FST_ERR_CTP_EMPTY_JSON_BODY: NOT_JSON,
  FST_ERR_CTP_BODY_TOO_LARGE: TOO_LARGE,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ONLY_JSON,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    code: 'VALIDATION_FAILED',
    message: 'the request body’s length differs from its Content-Length',
  },
  FST_ERR_ROUTE_MISSING_CONTENT_TYPE: ONLY_JSON,
  FST_ERR_ROUTE_MISSING_CONTENT: { code: 'VALIDATION_FAILED', message: 'the request needs a body' },
  FST_ERR_VALIDATION: { code: 'VALIDATION_FAILED', message: 'the request is not valid' },
};

/**
 * Errors of Node's HTTP parser (`clientError`), before Fastify sees a request. Headers over Node's
 * limit are the URL's fault (414) when the request line is most of them, else the headers' (400); every
 * other malformation is a 400.
 */
function clientErrorBody(error: { code: string; rawPacket?: unknown }): ErrorBody {
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    const raw = Buffer.isBuffer(error.rawPacket) ? error.rawPacket.toString('latin1') : '';
    const line = /^[A-Z]+ /.test(raw) ? (raw.indexOf('\r\n') + 1 || raw.length + 1) - 1 : 0;
    return line > raw.length / 2
      ? { code: 'URI_TOO_LONG', message: 'the request URL is too long' }
      : { code: 'VALIDATION_FAILED', message: 'the request headers are too large' };
  }
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return { code: 'VALIDATION_FAILED', message: 'the request was not received in time' };
  return BAD_REQUEST;
}

/** Maps known failures (our own, Nest's, Fastify's, Node's HTTP parser's) to an error body with a stable code. */
export function toErrorBody(exception: unknown): ErrorBody {
  if (exception instanceof PierError) return exception.toBody();
  // Nest wraps Fastify's own failures (body parsing, limits) in an HttpException; the cause says which.
  const cause =
    exception instanceof HttpException ? (exception.cause as { code?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string' && cause.code.startsWith('FST_')) return toErrorBody(cause);
  if (exception instanceof HttpException) return httpExceptionBody(exception);
  const error = exception as { code?: unknown; statusCode?: unknown; message?: unknown } | null;
  const code = typeof error?.code === 'string' ? error.code : '';
  if (FASTIFY_ERRORS[code]) return FASTIFY_ERRORS[code];
  if (code.startsWith('HPE_') || code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return clientErrorBody({ ...(exception as { rawPacket?: unknown }), code });
  // Fastify's JSON parser throws a plain SyntaxError (with a 400 status) for bad JSON and for
  // `__proto__` / `constructor.prototype` keys.
  if (exception instanceof SyntaxError && error?.statusCode === 400) return NOT_JSON;
  if (error?.statusCode === 413) return TOO_LARGE;
  if (error?.statusCode === 415) return ONLY_JSON;
  if (typeof error?.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500)
    return { code: 'VALIDATION_FAILED', message: 'the request is not valid' };
  return { code: 'INTERNAL', message: 'internal error' };
}

function httpExceptionBody(exception: HttpException): ErrorBody {
  const status = exception.getStatus();
  if (status === 404) return { code: 'ROUTE_NOT_FOUND', message: 'no such route' };
  if (status === 405) return { code: 'METHOD_NOT_ALLOWED', message: 'method not allowed on this route' };
  if (status === 413) return TOO_LARGE;
  if (status === 414) return { code: 'URI_TOO_LONG', message: 'the request URL is too long' };
  if (status === 415) return ONLY_JSON;
  if (status < 500) return { code: 'VALIDATION_FAILED', message: exception.message };
  return { code: 'INTERNAL', message: 'internal error' };
}

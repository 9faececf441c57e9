import { STATUS_CODES } from 'node:http';
import { type Socket } from 'node:net';
import { type DynamicModule, type INestApplication, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { type Logger } from '@pier/observability';
import { type FastifyReply } from 'fastify';
import { PinoNestLogger } from './pino-nest.logger';

/** How a service answers a failure that never reaches its exception filters. */
export type ErrorReply = (error: unknown) => { readonly status: number; readonly body: unknown };

/**
 * Longest path parameter the router matches (Fastify's default is 100, shorter than a host name: a
 * 253-character host could be added but not removed). Longer ones answer 414 through `errorReply`.
 */
export const MAX_PARAM_LENGTH = 1024;

/**
 * Creates a Nest application on Fastify with the service's logger, shutdown hooks for SIGTERM/SIGINT,
 * and listens on 127.0.0.1 unless told otherwise. Request bodies are JSON only: any other media type
 * answers 415 (Nest's default form-urlencoded and Fastify's text parsers are not installed).
 *
 * `errorReply` formats the failures Fastify answers before any route runs — malformed or over-long
 * URLs (`frameworkErrors`) and requests Node's HTTP parser refuses (`clientErrorHandler`: bad request
 * line, header overflow, bad Content-Length, timeouts) — so they come out in the service's own format.
 */
export async function createFastifyApp(
  module: Type<unknown> | DynamicModule,
  options: {
    logger: Logger;
    bodyLimit?: number;
    trustProxy?: boolean;
    errorReply?: ErrorReply;
    /** Close on SIGTERM/SIGINT and exit (default); off when the process hosts other services too. */
    shutdownHooks?: boolean;
  },
): Promise<NestFastifyApplication> {
  const { errorReply } = options;
  const adapter = new FastifyAdapter({
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    trustProxy: options.trustProxy ?? false,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    ...(errorReply
      ? {
          frameworkErrors: (error: unknown, _request: unknown, reply: FastifyReply) => {
            const { status, body } = errorReply(error);
            void reply.status(status).send(body);
          },
          clientErrorHandler: (error: Error & { code?: string }, socket: Socket) =>
            answerClientError(errorReply, error, socket),
        }
      : {}),
  });
  adapter.getInstance().removeContentTypeParser('text/plain');
  const app = await NestFactory.create<NestFastifyApplication>(module, adapter, {
    logger: new PinoNestLogger(options.logger),
    bufferLogs: false,
    abortOnError: false,
    // Fastify's own JSON parser stays; Nest's would add application/x-www-form-urlencoded.
    bodyParser: false,
  });
  if (options.shutdownHooks ?? true) app.enableShutdownHooks();
  return app;
}

/** Like Fastify's default client error handler, in the service's format. */
function answerClientError(errorReply: ErrorReply, error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) {
    const { status, body } = errorReply(error);
    const text = JSON.stringify(body);
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
    );
  }
  socket.destroy(error);
}

export async function listen(app: INestApplication, port: number, host = '127.0.0.1'): Promise<number> {
  await app.listen(port, host);
  const address = app.getHttpServer().address() as { port: number } | null;
  return address?.port ?? port;
}

import { type DynamicModule, type INestApplication, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { type Logger } from '@pier/observability';
import { PinoNestLogger } from './pino-nest.logger';

/**
 * Creates a Nest application on Fastify with the service's logger, shutdown hooks for SIGTERM/SIGINT,
 * and listens on 127.0.0.1 unless told otherwise.
 */
export async function createFastifyApp(
  module: Type<unknown> | DynamicModule,
  options: { logger: Logger; bodyLimit?: number; trustProxy?: boolean },
): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    module,
    new FastifyAdapter({
      bodyLimit: options.bodyLimit ?? 1024 * 1024,
      trustProxy: options.trustProxy ?? false,
    }),
    { logger: new PinoNestLogger(options.logger), bufferLogs: false, abortOnError: false },
  );
  app.enableShutdownHooks();
  return app;
}

export async function listen(app: INestApplication, port: number, host = '127.0.0.1'): Promise<number> {
  await app.listen(port, host);
  const address = app.getHttpServer().address() as { port: number } | null;
  return address?.port ?? port;
}

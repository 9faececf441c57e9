export * from './ops.controller';
export * from './pino-nest.logger';
export * from './bootstrap';
export * from './service';

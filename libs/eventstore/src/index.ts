export * from './event-store';
export * from './durable-consumer';
export * from './aggregate-repository';

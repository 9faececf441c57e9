export * from './connect';
export * from './rpc-client';
export * from './rpc-server';
export * from './rpc-headers';
export * from './connection-watch';

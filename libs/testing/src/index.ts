export * from './test-env';
export * from './expect-eventually';
export * from './infrastructure';
export * from './processes';
export * from './rejection';
export * from './fixtures';
export * from './control-plane-env';
export * from './test-registry';

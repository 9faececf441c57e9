export * from './container-security';
export * from './policy';

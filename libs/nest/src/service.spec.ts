import { ConfigError } from '@pier/config';
import { serviceEnv } from './service';

describe('serviceEnv', () => {
  it('gives a service in a shared process its own schema from PIER_<NAME>_DATABASE_SCHEMA', () => {
    const env = {
      PIER_PREFIX: 'p',
      PIER_AUTH_DATABASE_SCHEMA: 'p_auth',
      PIER_CLUSTERS_DATABASE_SCHEMA: 'p_c',
    };
    expect(serviceEnv('auth', env)).toEqual({
      PIER_PREFIX: 'p',
      PIER_CLUSTERS_DATABASE_SCHEMA: 'p_c',
      PIER_DATABASE_SCHEMA: 'p_auth',
    });
    expect(serviceEnv('gateway', env).PIER_DATABASE_SCHEMA).toBeUndefined();
  });

  it('refuses one schema for every service of the process', () => {
    expect(() => serviceEnv('auth', { PIER_DATABASE_SCHEMA: 'shared' })).toThrow(ConfigError);
    expect(() => serviceEnv('auth', { PIER_DATABASE_SCHEMA: 'shared' })).toThrow(/PIER_AUTH_DATABASE_SCHEMA/);
  });
});

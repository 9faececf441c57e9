import { z } from 'zod';
import { ConfigError, commonEnv, envBoolean, envPort, loadConfig, redactUrl } from './load-config';

describe('loadConfig', () => {
  const schema = z.object({ ...commonEnv, PORT: envPort(4000), DEBUG: envBoolean(false) });

  it('applies defaults', () => {
    const config = loadConfig(schema, {});
    expect(config).toMatchObject({
      PIER_NATS_URL: 'nats://127.0.0.1:4222',
      PIER_PREFIX: 'pier',
      PORT: 4000,
      DEBUG: false,
    });
  });

  it('lists every bad variable at once', () => {
    let error: unknown;
    try {
      loadConfig(schema, { PORT: '70000', DEBUG: 'maybe', PIER_PREFIX: 'a.b' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/^PORT:/m);
    expect(problems).toMatch(/^DEBUG:/m);
    expect(problems).toMatch(/^PIER_PREFIX:/m);
  });

  it('redacts passwords in URLs', () => {
    expect(redactUrl('postgres://pier:s3cret@db:5432/pier')).toBe('postgres://pier:***@db:5432/pier');
  });
});

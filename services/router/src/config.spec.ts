import { loadConfig } from '@pier/config';
import { routerConfigSchema } from './config';

describe('router configuration', () => {
  it('defaults to a local HTTP frontend, exporter and ops port', () => {
    expect(loadConfig(routerConfigSchema, {})).toMatchObject({
      PIER_ROUTER_PORT: 4103,
      PIER_ROUTER_HTTP_PORT: 8080,
      PIER_ROUTER_HTTPS_PORT: 8443,
      PIER_ROUTER_BIND: '127.0.0.1',
      PIER_ROUTER_METRICS_PORT: 8405,
      PIER_ROUTER_METRICS_BIND: '127.0.0.1',
      PIER_BASE_DOMAIN: 'pier.localhost',
      PIER_ROUTER_STATE_DIR: '/var/lib/pier/router',
      PIER_ROUTER_HAPROXY_BIN: '/usr/sbin/haproxy',
      PIER_ROUTER_SERVER_MAXCONN: 16,
      PIER_ROUTER_QUEUE_TIMEOUT_MS: 3000,
      PIER_ROUTER_HARD_STOP_AFTER_S: 86_400,
    });
  });

  it('bounds maxconn, the queue timeout and hard-stop-after', () => {
    expect(() =>
      loadConfig(routerConfigSchema, {
        PIER_ROUTER_SERVER_MAXCONN: '0',
        PIER_ROUTER_QUEUE_TIMEOUT_MS: '600000',
        PIER_ROUTER_HARD_STOP_AFTER_S: '10',
      }),
    ).toThrow(
      expect.objectContaining({
        problems: [
          expect.stringContaining('PIER_ROUTER_SERVER_MAXCONN'),
          expect.stringContaining('PIER_ROUTER_QUEUE_TIMEOUT_MS'),
          expect.stringContaining('PIER_ROUTER_HARD_STOP_AFTER_S'),
        ],
      }),
    );
    expect(
      loadConfig(routerConfigSchema, {
        PIER_ROUTER_SERVER_MAXCONN: '4',
        PIER_ROUTER_HARD_STOP_AFTER_S: '3600',
      }),
    ).toMatchObject({ PIER_ROUTER_SERVER_MAXCONN: 4, PIER_ROUTER_HARD_STOP_AFTER_S: 3600 });
  });

  it('lists every bad variable at once', () => {
    expect(() =>
      loadConfig(routerConfigSchema, {
        PIER_ROUTER_HTTP_PORT: '0',
        PIER_ROUTER_BIND: 'localhost',
        PIER_ROUTER_STATE_DIR: 'relative/dir',
      }),
    ).toThrow(
      expect.objectContaining({
        problems: [
          expect.stringContaining('PIER_ROUTER_HTTP_PORT'),
          expect.stringContaining('PIER_ROUTER_BIND'),
          expect.stringContaining('PIER_ROUTER_STATE_DIR'),
        ],
      }),
    );
  });

  it('refuses the same port for two listeners', () => {
    expect(() =>
      loadConfig(routerConfigSchema, { PIER_ROUTER_HTTP_PORT: '9000', PIER_ROUTER_METRICS_PORT: '9000' }),
    ).toThrow('must differ');
  });
});

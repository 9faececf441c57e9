import { type HaproxyServer } from './haproxy-config';
import { runtimeCommands } from './haproxy-runtime';

const server = (overrides: Partial<HaproxyServer> = {}): HaproxyServer => ({
  backend: 'acme.web.v1',
  name: 's1',
  instanceId: 'i1',
  endpoint: { host: '127.0.0.1', port: 41001 },
  enabled: true,
  ...overrides,
});
const empty = server({ instanceId: null, endpoint: null, enabled: false });

describe('runtime API commands', () => {
  it('sends nothing when nothing changed', () => {
    expect(runtimeCommands([server()], [server()])).toEqual([]);
    expect(runtimeCommands([empty], [empty])).toEqual([]);
  });

  it('sets the address of an instance that takes an empty slot, then puts it in rotation', () => {
    expect(runtimeCommands([empty], [server()])).toEqual([
      'set server acme.web.v1/s1 addr 127.0.0.1 port 41001',
      'set server acme.web.v1/s1 state ready',
    ]);
  });

  it('sets only the address of an instance that started but is not ready yet', () => {
    expect(runtimeCommands([empty], [server({ enabled: false })])).toEqual([
      'set server acme.web.v1/s1 addr 127.0.0.1 port 41001',
    ]);
  });

  it('flips readiness without touching the address', () => {
    expect(runtimeCommands([server({ enabled: false })], [server()])).toEqual([
      'set server acme.web.v1/s1 state ready',
    ]);
    expect(runtimeCommands([server()], [server({ enabled: false })])).toEqual([
      'set server acme.web.v1/s1 state maint',
    ]);
  });

  it('takes a restarted instance out while its new port is set, then back in', () => {
    expect(runtimeCommands([server()], [server({ endpoint: { host: '127.0.0.1', port: 41002 } })])).toEqual([
      'set server acme.web.v1/s1 state maint',
      'set server acme.web.v1/s1 addr 127.0.0.1 port 41002',
      'set server acme.web.v1/s1 state ready',
    ]);
  });

  it('puts a slot whose instance stopped in maintenance', () => {
    expect(runtimeCommands([server()], [empty])).toEqual(['set server acme.web.v1/s1 state maint']);
  });
});

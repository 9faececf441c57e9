import { type HaproxyServer } from './haproxy-config';
import { changedMaps, mapReplaceCommands, preparedVersion, runtimeCommands } from './haproxy-runtime';

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
  const none = { entering: [], leaving: [] };

  it('sends nothing when nothing changed', () => {
    expect(runtimeCommands([server()], [server()])).toEqual(none);
    expect(runtimeCommands([empty], [empty])).toEqual(none);
  });

  it('sets the address of an instance that takes an empty slot, then puts it in rotation, before the maps', () => {
    expect(runtimeCommands([empty], [server()])).toEqual({
      entering: [
        'set server acme.web.v1/s1 addr 127.0.0.1 port 41001',
        'set server acme.web.v1/s1 state ready',
      ],
      leaving: [],
    });
  });

  it('sets only the address of an instance that started but is not ready yet', () => {
    expect(runtimeCommands([empty], [server({ enabled: false })])).toEqual({
      entering: [],
      leaving: ['set server acme.web.v1/s1 addr 127.0.0.1 port 41001'],
    });
  });

  it('flips readiness without touching the address: into rotation before the maps, out of it after them', () => {
    expect(runtimeCommands([server({ enabled: false })], [server()])).toEqual({
      entering: ['set server acme.web.v1/s1 state ready'],
      leaving: [],
    });
    expect(runtimeCommands([server()], [server({ enabled: false })])).toEqual({
      entering: [],
      leaving: ['set server acme.web.v1/s1 state maint'],
    });
  });

  it('takes a restarted instance out while its new port is set, then back in', () => {
    expect(
      runtimeCommands([server()], [server({ endpoint: { host: '127.0.0.1', port: 41002 } })]).entering,
    ).toEqual([
      'set server acme.web.v1/s1 state maint',
      'set server acme.web.v1/s1 addr 127.0.0.1 port 41002',
      'set server acme.web.v1/s1 state ready',
    ]);
  });

  it('puts a slot whose instance stopped in maintenance, after the maps', () => {
    expect(runtimeCommands([server()], [empty])).toEqual({
      entering: [],
      leaving: ['set server acme.web.v1/s1 state maint'],
    });
  });
});

describe('runtime API map swaps', () => {
  const hosts = { path: '/s/hosts.map', content: 'a.test acme_a\nb.test acme_b\n' };
  const routes = { path: '/s/routes.map', content: 'acme_a acme.a.v1\nacme_b acme.b.unavailable\n' };

  it('replaces only the maps whose content changed', () => {
    expect(changedMaps([hosts, routes], [hosts, routes])).toEqual([]);
    const moved = { ...routes, content: 'acme_a ~split\nacme_a/c0 acme.a.v2\nacme_b acme.b.unavailable\n' };
    expect(changedMaps([hosts, routes], [hosts, moved])).toEqual([moved]);
  });

  it('fills a prepared version with the whole map and commits it, in one transaction', () => {
    expect(mapReplaceCommands(routes, 7)).toEqual([
      'add map @7 /s/routes.map <<\nacme_a acme.a.v1\nacme_b acme.b.unavailable\n',
      'commit map @7 /s/routes.map',
    ]);
    // An empty map: the commit alone empties it.
    expect(mapReplaceCommands({ ...routes, content: '' }, 8)).toEqual(['commit map @8 /s/routes.map']);
    expect(preparedVersion('New version created: 12\n')).toBe(12);
    expect(() => preparedVersion('Unknown map identifier.')).toThrow('did not prepare');
  });

  it("sends a long map in payloads that fit HAProxy's buffer, every entry once", () => {
    const lines = Array.from({ length: 2000 }, (_, i) => `host-${i}.example.test acme_app${i}\n`);
    const commands = mapReplaceCommands({ path: '/s/hosts.map', content: lines.join('') }, 3);
    expect(commands.length).toBeGreaterThan(3);
    expect(commands.at(-1)).toBe('commit map @3 /s/hosts.map');
    const payloads = commands.slice(0, -1).map((c) => {
      expect(c.length).toBeLessThan(16_000);
      expect(c.startsWith('add map @3 /s/hosts.map <<\n')).toBe(true);
      return c.slice('add map @3 /s/hosts.map <<\n'.length);
    });
    expect(payloads.join('')).toBe(lines.join(''));
  });
});

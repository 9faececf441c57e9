import { ContainerChecks, type CheckTarget } from './container-checks';

const target: CheckTarget = {
  containerId: 'c1',
  specPorts: [{ containerPort: 8080, protocol: 'http' }],
  published: [{ containerPort: 8080, protocol: 'tcp', hostPort: 32768 }],
};
const never = () => new Promise<never>(() => undefined);

/** A check always ends with a result: its probe would otherwise stay in flight, never to run again. */
describe('ContainerChecks', () => {
  afterEach(() => jest.useRealTimers());

  it('gives up on a check that never ends (an engine that does not answer an exec)', async () => {
    jest.useFakeTimers();
    const checks = new ContainerChecks({ exec: never }, { http: never, tcp: never }, '127.0.0.1');
    const results = [
      checks.run({ exec: { command: ['true'] } }, target, 1000),
      checks.run({ http: { path: '/', port: 8080 } }, target, 1000),
    ];
    await jest.advanceTimersByTimeAsync(6000);
    expect(await Promise.all(results)).toEqual([
      { ok: false, detail: 'no result within 6000 ms' },
      { ok: false, detail: 'no result within 6000 ms' },
    ]);
  });

  it('turns a throwing engine or prober into a failed check with the reason', async () => {
    const checks = new ContainerChecks(
      {
        exec: () => {
          throw new Error('No exec command specified');
        },
      },
      { http: () => Promise.reject(new Error('socket hang up')), tcp: never },
      '127.0.0.1',
    );
    expect(await checks.run({ exec: { command: [] as unknown as [string] } }, target, 1000)).toEqual({
      ok: false,
      detail: 'No exec command specified',
    });
    expect(await checks.run({ http: { path: '/', port: 8080 } }, target, 1000)).toEqual({
      ok: false,
      detail: 'socket hang up',
    });
  });

  it('tells a lost port mapping (the container accepts on its own address) from an app that does not listen', async () => {
    const refused = { ok: false, detail: 'GET http://127.0.0.1:32768/: ECONNREFUSED' };
    const direct: { host: string; port: number }[] = [];
    const withApp = (listening: boolean) =>
      new ContainerChecks(
        { exec: never },
        {
          http: () => Promise.resolve(refused),
          tcp: (t) => {
            direct.push(t);
            return Promise.resolve(
              listening ? { ok: true, detail: 'connected' } : { ok: false, detail: 'ECONNREFUSED' },
            );
          },
        },
        '127.0.0.1',
      );
    const on = { ...target, addresses: ['172.18.0.5'] };
    expect(await withApp(true).run({ http: { path: '/', port: 8080 } }, on, 1000)).toEqual({
      ok: false,
      detail: `${refused.detail}; the container accepts on 172.18.0.5:8080: the engine lost its port mapping`,
      portMappingLost: true,
    });
    expect(direct).toEqual([{ host: '172.18.0.5', port: 8080 }]);
    expect(await withApp(false).run({ http: { path: '/', port: 8080 } }, on, 1000)).toEqual({
      ...refused,
      refused: true,
    });
    // Without an address to try, a refusal is just a refusal.
    expect(await withApp(true).run({ http: { path: '/', port: 8080 } }, target, 1000)).toEqual({
      ...refused,
      refused: true,
    });
  });
});

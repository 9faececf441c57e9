import { runnableSpec } from './runnable-spec';

describe('runnableSpec', () => {
  it('runs a spec stored before the precise rules, defaults filled in', () => {
    const checked = runnableSpec({
      image: 'pier/busybox:latest',
      probes: { readiness: { http: { path: '/a b', port: 9999, headers: { X: 'a\r\nb' } } } },
    });
    expect(checked).toMatchObject({
      ok: true,
      spec: {
        env: {},
        resources: { cpu: 250, memory: 256 },
        probes: { readiness: { http: { path: '/a b' }, periodSeconds: 10, failureThreshold: 3 } },
      },
    });
  });

  it('refuses a spec it cannot read, naming every problem', () => {
    expect(
      runnableSpec({
        image: 'pier/busybox:latest',
        ports: 'all',
        probes: { liveness: { tcp: { port: 0 } } },
      }),
    ).toEqual({
      ok: false,
      reason:
        'this agent cannot run the spec: ports: Invalid input: expected array, received string; probes.liveness.tcp.port: Too small: expected number to be >=1',
    });
    expect(runnableSpec(null)).toEqual({
      ok: false,
      reason: 'this agent cannot run the spec: spec: Invalid input: expected object, received null',
    });
  });
});

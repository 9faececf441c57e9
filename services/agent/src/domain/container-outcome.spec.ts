import { exitReason, reportedHostPorts, reportedProbe } from './container-outcome';

describe('container outcome', () => {
  it('reports each declared port with the host port it was published on', () => {
    const ports = [
      { containerPort: 8080, protocol: 'http' as const },
      { containerPort: 53, protocol: 'udp' as const },
      { containerPort: 9000, protocol: 'tcp' as const },
    ];
    const published = [
      { containerPort: 53, protocol: 'udp' as const, hostPort: 40001 },
      { containerPort: 8080, protocol: 'tcp' as const, hostPort: 40000 },
      { containerPort: 9000, protocol: 'udp' as const, hostPort: 40002 },
    ];
    expect(reportedHostPorts(ports, published)).toEqual([
      { containerPort: 8080, protocol: 'http', hostPort: 40000 },
      { containerPort: 53, protocol: 'udp', hostPort: 40001 },
    ]);
  });

  it('names OOM kills, engine errors and plain exit codes', () => {
    expect(exitReason(null)).toBe('the container disappeared');
    expect(exitReason({ oomKilled: true, error: '', exitCode: 137 })).toBe('OOMKilled');
    expect(exitReason({ oomKilled: false, error: 'no such file', exitCode: 127 })).toBe(
      'the container failed: no such file',
    );
    expect(exitReason({ oomKilled: false, error: '', exitCode: 3 })).toBe('exited with code 3');
  });

  it('reports a probe run as it is, cutting a detail longer than the event holds', () => {
    const passed = { kind: 'readiness' as const, ok: true, detail: 'exec ["true"]: exit code 0' };
    expect(reportedProbe(passed)).toEqual(passed);
    const long = reportedProbe({ kind: 'liveness', ok: false, detail: `exec ["${'x'.repeat(2000)}"]` });
    expect(long).toMatchObject({ kind: 'liveness', ok: false });
    expect(long.detail).toHaveLength(1000);
    expect(long.detail).toMatch(/^exec \["x+…$/);
  });
});

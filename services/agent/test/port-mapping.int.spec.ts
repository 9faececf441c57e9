import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { expectEventually } from '@pier/testing';
import { httpGet, RuntimeHarness, webSpec } from './runtime-harness';

const run = promisify(execFile);
type HostPort = { containerPort: number; protocol: string; hostPort: number };

/**
 * What the engine did to a container it started while it restarted (the fault suite's dockerd restart,
 * struck as a scale-up started a container): the container runs, but its published port refuses, for
 * good — no NAT rule, nothing listening. Here the port's mapping is taken away by hand, to the same
 * state. Readiness alone never restarts a container, so the instance stayed unready for ever.
 */
describe('InstanceRuntime: a container whose port mapping the engine lost', () => {
  const h = new RuntimeHarness('agent-portmap');

  beforeAll(async () => {
    await h.setUp();
    // A short boot timeout, so the last case sees it act (the default is 60 s).
    await h.startRuntime({ bootTimeoutMs: 4000 });
  });
  afterEach(() => h.unassignAll());
  afterAll(() => h.tearDown());

  /**
   * Deletes every NAT rule for the host port and closes whatever listens on it: the socket by which the
   * engine holds the port (`ss -K`), or the userland proxy where the engine runs one.
   */
  async function loseMapping(hostPort: number): Promise<void> {
    const { stdout } = await run('iptables', ['-w', '-t', 'nat', '-S']);
    const rules = stdout.split('\n').filter((r) => r.startsWith('-A ') && r.includes(`--dport ${hostPort} `));
    for (const rule of rules) {
      await run('iptables', ['-w', '-t', 'nat', '-D', ...rule.slice(3).split(' ')]);
    }
    await run('ss', ['-K', '-tln', `sport = :${hostPort}`]);
    await run('pkill', ['-f', `docker-proxy .*-host-port ${hostPort} `]).catch(() => undefined);
    expect(await connectError(hostPort)).toBe('ECONNREFUSED');
  }

  /** The error code of a TCP connection to 127.0.0.1:port, or `connected`. */
  function connectError(port: number): Promise<string> {
    return new Promise((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve('connected');
      });
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
  }

  it('is restarted: its published port refuses while the container accepts on its own address', async () => {
    const id = await h.assign(
      webSpec({
        probes: { readiness: { http: { path: '/', port: 8080 }, periodSeconds: 1, failureThreshold: 3 } },
      }),
    );
    const [started] = await h.eventually(id, 'InstanceStarted');
    const first = (started!.data.hostPorts as HostPort[]).find((p) => p.containerPort === 8080)!.hostPort;
    await h.eventually(id, 'InstanceReady');

    await loseMapping(first);

    const [exited] = await h.eventually(id, 'InstanceExited', 1, 30_000);
    expect(exited!.data.reason).toMatch(
      /ECONNREFUSED; the container accepts on .*: the engine lost its port mapping/,
    );
    const starts = await h.eventually(id, 'InstanceStarted', 2, 30_000);
    const second = (starts[1]!.data.hostPorts as HostPort[]).find((p) => p.containerPort === 8080)!.hostPort;
    await h.eventually(id, 'InstanceReady', 2, 30_000);
    await expectEventually(async () => expect((await httpGet(second)).status).toBe(200));
  }, 90_000);

  it('is not restarted as a lost mapping when the app itself does not listen; the boot timeout restarts it', async () => {
    const id = await h.assign(
      webSpec({
        probes: { readiness: { http: { path: '/', port: 9090 }, periodSeconds: 1, failureThreshold: 2 } },
        ports: [
          { containerPort: 8080, protocol: 'http' },
          { containerPort: 9090, protocol: 'http' },
        ],
      }),
    );
    const [notReady] = await h.eventually(id, 'InstanceNotReady', 1, 30_000);
    expect(notReady!.data.reason).not.toMatch(/port mapping/);
    // Nothing listens on 9090 at all: 4 s after the start, the boot timeout restarts it.
    const [exited] = await h.eventually(id, 'InstanceExited', 1, 30_000);
    expect(exited!.data.reason).toMatch(
      /^nothing accepted connections on its published port 4 s after it started \(readiness probe: .*ECONNREFUSED\)$/,
    );
    await h.eventually(id, 'InstanceStarted', 2, 30_000);
  }, 60_000);
});

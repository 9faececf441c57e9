import { expectEventually } from '@pier/testing';
import { httpGet, RuntimeHarness, WEB_COMMAND, webSpec } from './runtime-harness';

const MiB = 1024 * 1024;
type HostPort = { containerPort: number; protocol: string; hostPort: number };

/**
 * The runtime against real Docker and NATS: it follows a fake node's assignment subject (InstanceAssigned
 * appended by the test) and reports on each instance's subject, read back here.
 */
describe('InstanceRuntime: running instances', () => {
  const h = new RuntimeHarness('agent-runtime');

  beforeAll(async () => {
    await h.setUp();
    await h.startRuntime();
  });
  afterEach(() => h.unassignAll());
  afterAll(() => h.tearDown());

  /** The host port published for container port 8080 by the instance's latest start. */
  async function webPort(instanceId: string): Promise<{ containerId: string; port: number }> {
    const started = await h.eventually(instanceId, 'InstanceStarted');
    const last = started[started.length - 1]!.data;
    const port = (last.hostPorts as HostPort[]).find((p) => p.containerPort === 8080)!.hostPort;
    return { containerId: last.containerId as string, port };
  }

  it('starts a container as specified, on a port Docker chose on 127.0.0.1, and reports it', async () => {
    h.secrets.set('acme/db', { kind: 'generic', data: { password: 's3cret' } });
    const id = await h.assign(
      webSpec({
        env: { GREETING: 'hi' },
        secretEnv: { DB_PASSWORD: { secret: 'db', key: 'password' } },
        resources: { cpu: 250, memory: 32 },
        ports: [
          { containerPort: 8080, protocol: 'http' },
          { containerPort: 5353, protocol: 'udp' },
        ],
      }),
    );
    const [started] = await h.eventually(id, 'InstanceStarted');
    expect(started!.data).toMatchObject({
      instanceId: id,
      host: '127.0.0.1',
      restarts: 0,
      hostPorts: [
        { containerPort: 8080, protocol: 'http', hostPort: expect.any(Number) },
        { containerPort: 5353, protocol: 'udp', hostPort: expect.any(Number) },
      ],
    });
    const { containerId, port } = await webPort(id);
    await expectEventually(async () =>
      expect(await httpGet(port)).toEqual({ status: 200, body: `${containerId.slice(0, 12)} v1` }),
    );

    const info = await h.docker.getContainer(containerId).inspect();
    expect(info.Name).toBe(`/pier-acme-web-v1-${id.slice(0, 8)}`);
    expect(info.Config.Labels).toMatchObject({
      'pier.managed': 'true',
      'pier.node': h.nodeId,
      'pier.instance': id,
      'pier.space': 'acme',
      'pier.app': 'web',
      'pier.version': '1',
      'pier.restarts': '0',
    });
    expect(info.Config.Env).toEqual(expect.arrayContaining(['GREETING=hi', 'DB_PASSWORD=s3cret']));
    expect(info.Config.Entrypoint).toEqual(WEB_COMMAND);
    expect(info.Config.Cmd).toBeNull();
    expect(info.HostConfig).toMatchObject({
      NanoCpus: 250_000_000,
      Memory: 32 * MiB,
      RestartPolicy: { Name: 'no' },
      AutoRemove: false,
      PortBindings: {
        '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }],
        '5353/udp': [{ HostIp: '127.0.0.1', HostPort: '' }],
      },
    });
    expect(h.revealCalls).toContainEqual({
      space: 'acme',
      name: 'db',
      caller: { kind: 'node', nodeId: h.nodeId, credential: h.credential },
    });
    // Without a readiness probe it is ready as soon as it started, with no probe run to show for it.
    const [ready] = await h.eventually(id, 'InstanceReady');
    expect(ready!.data).toStrictEqual({ instanceId: id });
    expect((await h.types(id)).slice(0, 2)).toEqual(['InstanceStarted', 'InstanceReady']);
  });

  it('reports ready once the readiness probe passes, and only on transitions', async () => {
    const id = await h.assign(
      webSpec({
        // Each run of the probe leaves a line, so the test can wait for several periods without sleeping.
        probes: {
          readiness: {
            exec: {
              command: ['sh', '-c', 'echo x >> /tmp/probes && wget -q -O- http://127.0.0.1:8080/index.html'],
            },
            periodSeconds: 1,
            // An exec probe runs within the container's CPU limit: on a busy machine it takes a while.
            timeoutSeconds: 5,
          },
        },
      }),
    );
    const { containerId } = await webPort(id);
    const [ready] = await h.eventually(id, 'InstanceReady');
    // The passing run, its detail as the check gave it.
    expect(ready!.data.probe).toEqual({
      kind: 'readiness',
      ok: true,
      detail:
        'exec ["sh","-c","echo x >> /tmp/probes && wget -q -O- http://127.0.0.1:8080/index.html"]: exit code 0',
    });
    await expectEventually(
      async () =>
        expect(
          Number((await h.execIn(containerId, ['sh', '-c', 'wc -l < /tmp/probes'])).output.trim()),
        ).toBeGreaterThanOrEqual(4),
      { timeoutMs: 20_000, what: 'four readiness probes ran' },
    );
    expect(await h.types(id)).toEqual(['InstanceStarted', 'InstanceReady']);
  });

  it('keeps readiness and liveness off until the startup probe passes, and restarts when it never does', async () => {
    const id = await h.assign(
      webSpec({
        ports: [
          { containerPort: 8080, protocol: 'http' },
          { containerPort: 8081, protocol: 'tcp' },
        ],
        probes: {
          // Nothing listens on 8081.
          startup: { tcp: { port: 8081 }, periodSeconds: 1, failureThreshold: 2 },
          // Would pass at once if it ran.
          readiness: { http: { path: '/index.html', port: 8080 }, periodSeconds: 1 },
        },
      }),
    );
    const [exited] = await h.eventually(id, 'InstanceExited');
    // Refused by the kernel (published ports as NAT rules, dockerd --userland-proxy=false), or accepted
    // and closed by Docker's userland proxy when the engine runs one.
    const nothingListens = /^TCP 127\.0\.0\.1:\d+: (ECONNREFUSED|connection closed at once)/;
    expect(exited!.data).toMatchObject({
      reason: expect.stringMatching(new RegExp(`^startup probe failed: ${nothingListens.source.slice(1)}`)),
      restartInMs: 200,
      probe: {
        kind: 'startup',
        ok: false,
        detail: expect.stringMatching(nothingListens),
      },
    });
    const started = await h.eventually(id, 'InstanceStarted', 2);
    expect(started[1]!.data.restarts).toBe(1);
    expect(started[1]!.data.containerId).not.toBe(started[0]!.data.containerId);
    expect(await h.types(id)).not.toContain('InstanceReady');
    expect(
      await h.docker
        .getContainer(started[0]!.data.containerId as string)
        .inspect()
        .catch((e: { statusCode: number }) => e.statusCode),
    ).toBe(404);
  });

  it('restarts a container whose liveness probe fails, counting restarts', async () => {
    const id = await h.assign(
      webSpec({
        probes: {
          liveness: { http: { path: '/missing', port: 8080 }, periodSeconds: 1, failureThreshold: 2 },
        },
      }),
    );
    const started = await h.eventually(id, 'InstanceStarted', 3, 45_000);
    expect(started.map((s) => s.data.restarts)).toEqual([0, 1, 2]);
    const exits = await h.eventually(id, 'InstanceExited', 2);
    const failedRun = {
      kind: 'liveness',
      ok: false,
      detail: expect.stringMatching(/^GET http:\/\/127\.0\.0\.1:\d+\/missing: HTTP 404$/),
    };
    expect(exits[0]!.data).toMatchObject({
      reason: expect.stringMatching(
        /^liveness probe failed: GET http:\/\/127\.0\.0\.1:\d+\/missing: HTTP 404$/,
      ),
      oomKilled: false,
      restartInMs: 200,
      probe: failedRun,
    });
    expect(exits[1]!.data.restartInMs).toBe(400);
    // Out of rotation before it is killed, saying which probe failed; ready at once (no readiness probe).
    const events = await h.events(id);
    expect(events.slice(0, 4).map((e) => e.type)).toEqual([
      'InstanceStarted',
      'InstanceReady',
      'InstanceNotReady',
      'InstanceExited',
    ]);
    expect(events[1]!.data.probe).toBeUndefined();
    expect(events[2]!.data).toMatchObject({
      reason: expect.stringMatching(/^restarting: liveness probe failed: /),
      probe: failedRun,
    });
  });

  it('reports not ready when readiness fails, without a restart, and ready again when it passes', async () => {
    const id = await h.assign(
      webSpec({
        command: ['sh', '-c', 'touch /tmp/ready && exec httpd -f -p 8080 -h /tmp'],
        probes: {
          readiness: {
            exec: { command: ['cat', '/tmp/ready'] },
            periodSeconds: 1,
            timeoutSeconds: 5,
            failureThreshold: 1,
          },
        },
      }),
    );
    const { containerId } = await webPort(id);
    await h.eventually(id, 'InstanceReady');
    expect((await h.execIn(containerId, ['rm', '/tmp/ready'])).exitCode).toBe(0);
    const [notReady] = await h.eventually(id, 'InstanceNotReady');
    expect(notReady!.data.reason).toMatch(
      /^readiness probe failed: exec \["cat","\/tmp\/ready"\]: exit code 1/,
    );
    expect(notReady!.data.probe).toEqual({
      kind: 'readiness',
      ok: false,
      detail: expect.stringMatching(/^exec \["cat","\/tmp\/ready"\]: exit code 1: .*No such file/),
    });
    expect((await h.execIn(containerId, ['touch', '/tmp/ready'])).exitCode).toBe(0);
    const readies = await h.eventually(id, 'InstanceReady', 2);
    for (const ready of readies) {
      expect(ready.data.probe).toEqual({
        kind: 'readiness',
        ok: true,
        detail: 'exec ["cat","/tmp/ready"]: exit code 0',
      });
    }
    expect(await h.types(id)).toEqual([
      'InstanceStarted',
      'InstanceReady',
      'InstanceNotReady',
      'InstanceReady',
    ]);
    expect((await h.containersOf(id)).map((c) => c.Id)).toEqual([containerId]);
  });

  it('probes TCP through the published port, and fails a probe on a port that is not published', async () => {
    const tcp = await h.assign(webSpec({ probes: { readiness: { tcp: { port: 8080 }, periodSeconds: 1 } } }));
    const unpublished = await h.assign(
      webSpec({
        probes: { readiness: { http: { path: '/', port: 9090 }, periodSeconds: 1, failureThreshold: 1 } },
      }),
    );
    const [ready] = await h.eventually(tcp, 'InstanceReady');
    expect(ready!.data.probe).toEqual({
      kind: 'readiness',
      ok: true,
      detail: expect.stringMatching(/^TCP 127\.0\.0\.1:\d+: connected$/),
    });
    const [notReady] = await h.eventually(unpublished, 'InstanceNotReady');
    expect(notReady!.data.reason).toBe(
      "readiness probe failed: port 9090 is not among the version's TCP/HTTP ports, so it is not published and cannot be checked",
    );
    expect(notReady!.data.probe).toEqual({
      kind: 'readiness',
      ok: false,
      detail:
        "port 9090 is not among the version's TCP/HTTP ports, so it is not published and cannot be checked",
    });
    expect(await h.types(unpublished)).not.toContain('InstanceReady');
  });

  it('reports an exit with its code and restarts with a doubling back-off', async () => {
    const id = await h.assign(webSpec({ command: ['sh', '-c', 'sleep 1; exit 3'], ports: [] }));
    const exits = await h.eventually(id, 'InstanceExited', 2);
    expect(exits.map((e) => e.data)).toEqual([
      { instanceId: id, exitCode: 3, oomKilled: false, reason: 'exited with code 3', restartInMs: 200 },
      { instanceId: id, exitCode: 3, oomKilled: false, reason: 'exited with code 3', restartInMs: 400 },
    ]);
    const started = await h.eventually(id, 'InstanceStarted', 2);
    expect(started.map((s) => s.data.restarts)).toEqual([0, 1]);
    expect(started[1]!.data.hostPorts).toEqual([]);
  });

  it('reports an OOM kill as such', async () => {
    const id = await h.assign(
      webSpec({
        command: ['sh', '-c', 'x=$(head -c 50000000 /dev/zero | tr "\\0" "a"); sleep 1'],
        ports: [],
        resources: { cpu: 100, memory: 8 },
      }),
    );
    const [exited] = await h.eventually(id, 'InstanceExited');
    expect(exited!.data).toMatchObject({ oomKilled: true, reason: 'OOMKilled', exitCode: 137 });
  });

  it('fails an instance whose image does not exist with IMAGE_PULL_FAILED', async () => {
    const id = await h.assign(webSpec({ image: `127.0.0.1:5000/${h.prefix}/does-not-exist:1` }));
    const [failed] = await h.eventually(id, 'InstanceFailed');
    expect(failed!.data).toMatchObject({
      code: 'IMAGE_PULL_FAILED',
      reason: expect.stringContaining(`pulling 127.0.0.1:5000/${h.prefix}/does-not-exist:1 failed: `),
    });
    expect(await h.containersOf(id)).toEqual([]);
  });

  it('fails an instance whose command cannot run with CONTAINER_START_FAILED', async () => {
    const id = await h.assign(webSpec({ command: ['/no/such/binary'] }));
    const [failed] = await h.eventually(id, 'InstanceFailed');
    expect(failed!.data).toMatchObject({
      code: 'CONTAINER_START_FAILED',
      reason: expect.stringContaining('/no/such/binary'),
    });
    expect((await h.containersOf(id)).filter((c) => c.State === 'running')).toEqual([]);
    expect(await h.types(id)).not.toContain('InstanceStarted');
  });

  it('fails an instance whose secret or key is missing with SECRET_UNAVAILABLE', async () => {
    h.secrets.set('acme/partial', { kind: 'generic', data: { user: 'u' } });
    const noSecret = await h.assign(webSpec({ secretEnv: { A: { secret: 'nope', key: 'k' } } }));
    const noKey = await h.assign(webSpec({ secretEnv: { B: { secret: 'partial', key: 'password' } } }));
    const [a] = await h.eventually(noSecret, 'InstanceFailed');
    const [b] = await h.eventually(noKey, 'InstanceFailed');
    expect(a!.data).toMatchObject({
      code: 'SECRET_UNAVAILABLE',
      reason: expect.stringContaining('secret "nope" cannot be read: SECRET_NOT_FOUND'),
    });
    expect(b!.data).toMatchObject({
      code: 'SECRET_UNAVAILABLE',
      reason: 'secret "partial" has no key "password" (for B)',
    });
  });

  it('refuses to run with security options it cannot apply', async () => {
    const id = await h.assign(webSpec({ security: { capAdd: ['NET_ADMIN'] } }));
    const [failed] = await h.eventually(id, 'InstanceFailed');
    expect(failed!.data).toMatchObject({ code: 'SECURITY_OPTIONS_UNSUPPORTED' });
    expect(await h.containersOf(id)).toEqual([]);
  });

  it('stops an unassigned instance: not ready first, then stopped, and its container is gone', async () => {
    const id = await h.assign(webSpec());
    const { containerId } = await webPort(id);
    await h.eventually(id, 'InstanceReady');
    await h.unassign(id);
    const [stopped] = await h.eventually(id, 'InstanceStopped');
    expect(stopped!.data).toEqual({ instanceId: id, exitCode: expect.any(Number) });
    expect(await h.types(id)).toEqual([
      'InstanceStarted',
      'InstanceReady',
      'InstanceNotReady',
      'InstanceStopped',
    ]);
    // A stop is no probe's doing: it carries none.
    expect((await h.events(id))[2]!.data).toStrictEqual({ instanceId: id, reason: 'stopping: scale-down' });
    expect(await h.containersOf(id)).toEqual([]);
    await expect(h.docker.getContainer(containerId).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });
});

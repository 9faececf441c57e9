import { randomBytes, randomUUID } from 'node:crypto';
import Docker from 'dockerode';
import { expectEventually } from '@pier/testing';
import { DockerDriver } from '../src/infrastructure/docker/docker.driver';
import { containerSpec } from '../src/domain/container-spec';
import { versionSpecSchema } from '@pier/contracts';
import { httpGet, RuntimeHarness, webSpec } from './runtime-harness';

/** Space names of this run only: parallel test files and earlier runs never share their networks. */
const space = (name: string) => `${name}-${randomBytes(4).toString('hex')}`;

/** The container spec of web app `app<n>` of `space` on `nodeId`, for a driver started by hand. */
const webContainer = (nodeId: string, spaceName: string, n: number, idPrefix = '0') =>
  containerSpec(
    {
      nodeId,
      instanceId: `00000000-0000-4000-8000-0000000000${idPrefix}${n}`,
      space: spaceName,
      app: `app${n}`,
      version: 1,
      spec: versionSpecSchema.parse(webSpec()),
    },
    { restarts: 0, env: {}, publishHost: '127.0.0.1' },
  );

describe('Tenant isolation on the node (real Docker)', () => {
  const h = new RuntimeHarness('agent-isolation');
  const [spaceA, spaceB, raceSpace] = [space('iso-a'), space('iso-b'), space('race')];
  // The race test's containers carry another node's labels: the harness's runtime would take them for
  // strays of its own.
  const raceNode = randomUUID();
  const containers = new Map<string, Docker.ContainerInspectInfo>();

  const inspectOf = async (instanceId: string) => {
    await h.eventually(instanceId, 'InstanceStarted');
    const [c] = await h.containersOf(instanceId);
    return h.docker.getContainer(c!.Id).inspect();
  };
  const ipOf = (info: Docker.ContainerInspectInfo, space: string) =>
    info.NetworkSettings.Networks[`pier-${space}`]?.IPAddress ?? '';
  /** `wget` from inside a container, bounded: a dropped packet must fail the fetch, not hang it. */
  const fetchFrom = (info: Docker.ContainerInspectInfo, url: string) =>
    h.execIn(info.Id, ['timeout', '5', 'wget', '-q', '-O-', url]);

  beforeAll(async () => {
    await h.setUp();
    await h.startRuntime();
    const ids = {
      a1: await h.assign(webSpec(), { space: spaceA, app: 'web' }),
      a2: await h.assign(webSpec(), { space: spaceA, app: 'api' }),
      b1: await h.assign(webSpec(), { space: spaceB, app: 'web' }),
    };
    for (const [key, id] of Object.entries(ids)) containers.set(key, await inspectOf(id));
  }, 60_000);
  afterAll(async () => {
    await h.tearDown();
    const raced = await h.docker.listContainers({ all: true, filters: { label: [`pier.node=${raceNode}`] } });
    await Promise.all(raced.map((c) => h.docker.getContainer(c.Id).remove({ force: true })));
    for (const name of [spaceA, spaceB, raceSpace]) {
      await h.docker
        .getNetwork(`pier-${name}`)
        .remove()
        .catch(() => undefined);
    }
  });

  it('gives each space its own labelled bridge network; ports stay published on 127.0.0.1 only', async () => {
    const a1 = containers.get('a1')!;
    const b1 = containers.get('b1')!;
    expect(Object.keys(a1.NetworkSettings.Networks)).toEqual([`pier-${spaceA}`]);
    expect(Object.keys(b1.NetworkSettings.Networks)).toEqual([`pier-${spaceB}`]);
    const network = await h.docker.getNetwork(`pier-${spaceA}`).inspect();
    expect(network).toMatchObject({
      Driver: 'bridge',
      Labels: { 'pier.managed': 'true', 'pier.space': spaceA },
    });
    const binding = a1.HostConfig.PortBindings?.['8080/tcp']?.[0];
    expect(binding?.HostIp).toBe('127.0.0.1');
    const published = a1.NetworkSettings.Ports['8080/tcp']![0]!;
    expect(published.HostIp).toBe('127.0.0.1');
    expect((await httpGet(Number(published.HostPort))).status).toBe(200);
  });

  it('lets a container reach its own space by IP, container name and alias, and not another space', async () => {
    const [a1, a2, b1] = ['a1', 'a2', 'b1'].map((k) => containers.get(k)!);
    const ownByIp = await fetchFrom(a1, `http://${ipOf(a2, spaceA)}:8080/index.html`);
    expect(ownByIp).toMatchObject({ exitCode: 0, output: expect.stringContaining('v1') });
    const ownByName = await fetchFrom(a1, `http://${a2.Name.replace(/^\//, '')}:8080/index.html`);
    expect(ownByName.exitCode).toBe(0);
    // The app's name is an alias of its instances on the space's network.
    expect((await fetchFrom(a1, 'http://api:8080/index.html')).exitCode).toBe(0);

    const otherSpace = await fetchFrom(a1, `http://${ipOf(b1, spaceB)}:8080/index.html`);
    expect(otherSpace.exitCode).not.toBe(0);
    expect((await fetchFrom(b1, `http://${ipOf(a1, spaceA)}:8080/index.html`)).exitCode).not.toBe(0);
    // Names of the other space do not even resolve.
    expect((await fetchFrom(b1, 'http://api:8080/index.html')).exitCode).not.toBe(0);
  });

  it('runs containers without NET_RAW (no ping, no ARP), with no-new-privileges', async () => {
    const [a1, a2] = ['a1', 'a2'].map((k) => containers.get(k)!);
    const ping = await h.execIn(a1.Id, ['ping', '-c', '1', '-W', '2', ipOf(a2, spaceA)]);
    expect(ping.exitCode).not.toBe(0);
    expect(ping.output).toMatch(/permission denied|not permitted/i);
    const arping = await h.execIn(a1.Id, ['arping', '-c', '1', '-w', '2', '-I', 'eth0', ipOf(a2, spaceA)]);
    expect(arping.exitCode).not.toBe(0);
    expect(arping.output).toMatch(/not permitted/i);
    const status = await h.execIn(a1.Id, ['cat', '/proc/self/status']);
    expect(status.output).toMatch(/^NoNewPrivs:\s+1$/m);
    // Bit 13 of the bounding set is CAP_NET_RAW.
    const bounding = BigInt(`0x${/^CapBnd:\s+([0-9a-f]+)$/m.exec(status.output)![1]}`);
    expect(bounding & (1n << 13n)).toBe(0n);
  });

  it('limits processes and rotates logs by default', async () => {
    const { HostConfig } = containers.get('b1')!;
    expect(HostConfig.PidsLimit).toBe(1024);
    expect(HostConfig.LogConfig).toEqual({
      Type: 'json-file',
      Config: { 'max-size': '10m', 'max-file': '3' },
    });
    expect(HostConfig.SecurityOpt).toEqual(['no-new-privileges']);
    expect(HostConfig.CapDrop).toEqual(['ALL']);
    expect(HostConfig.CapAdd).not.toContain('NET_RAW');
    // The kernel holds the container to it (cgroup v2, or v1's pids controller).
    const max = await h.execIn(containers.get('b1')!.Id, [
      'sh',
      '-c',
      'cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max',
    ]);
    expect(max.output.trim()).toBe('1024');
  });

  it('removes a space’s network once none of its containers is left', async () => {
    const id = await h.assign(webSpec(), { space: spaceB, app: 'extra' });
    await h.eventually(id, 'InstanceStarted');
    await h.unassignAll();
    await expectEventually(
      async () => {
        const left = await h.docker.listNetworks({ filters: { name: [`pier-${spaceA}`, `pier-${spaceB}`] } });
        expect(left.map((n) => n.Name)).toEqual([]);
      },
      { timeoutMs: 30_000, what: 'networks of both spaces removed' },
    );
  });

  it('creates one network when two drivers launch the first containers of a space at once', async () => {
    const drivers = [new DockerDriver(), new DockerDriver(), new DockerDriver()];
    const started = await Promise.all(drivers.map((d, n) => d.start(webContainer(raceNode, raceSpace, n))));
    const networks = (await h.docker.listNetworks({ filters: { name: [`pier-${raceSpace}`] } })).filter(
      (n) => n.Name === `pier-${raceSpace}`,
    );
    const attached = await Promise.all(
      started.map(async (c) =>
        Object.values((await h.docker.getContainer(c.id).inspect()).NetworkSettings.Networks),
      ),
    );
    // Every container is on the same network, whatever the engine did with concurrent creates.
    expect(new Set(attached.map((n) => n[0]?.NetworkID)).size).toBe(1);
    await Promise.all(started.map((c) => drivers[0]!.destroy(c.id)));
    for (const n of networks) await drivers[0]!.removeUnusedNetwork(n.Id);
    expect(
      (await h.docker.listNetworks({ filters: { name: [`pier-${raceSpace}`] } })).filter(
        (n) => n.Name === `pier-${raceSpace}`,
      ),
    ).toEqual([]);
  });
});

describe('A driver’s known network ids (real Docker)', () => {
  const docker = new DockerDriver();
  const node = randomUUID();
  const networkSpace = space('known');
  const start = (n: number) => docker.start(webContainer(node, networkSpace, n, 'a'));
  const h = { docker: new Docker() };

  afterAll(async () => {
    const left = await h.docker.listContainers({ all: true, filters: { label: [`pier.node=${node}`] } });
    await Promise.all(left.map((c) => h.docker.getContainer(c.Id).remove({ force: true })));
    await h.docker
      .getNetwork(`pier-${networkSpace}`)
      .remove()
      .catch(() => undefined);
  });

  it('starts on a network made again after another process removed the one it knew', async () => {
    const first = await start(1);
    const before = Object.values(
      (await h.docker.getContainer(first.id).inspect()).NetworkSettings.Networks,
    )[0]!;
    await docker.destroy(first.id);
    // Another agent of the engine prunes the space's network: this driver's id for it is stale now.
    await h.docker.getNetwork(before.NetworkID).remove();
    const second = await start(2);
    const after = Object.values(
      (await h.docker.getContainer(second.id).inspect()).NetworkSettings.Networks,
    )[0]!;
    expect(after.NetworkID).not.toBe(before.NetworkID);
    const [network] = (await h.docker.listNetworks({ filters: { name: [`pier-${networkSpace}`] } })).filter(
      (n) => n.Name === `pier-${networkSpace}`,
    );
    expect(network?.Id).toBe(after.NetworkID);
    await docker.destroy(second.id);
  });
});

describe('Container limits from the agent’s configuration (real Docker)', () => {
  const h = new RuntimeHarness('agent-limits');
  beforeAll(async () => {
    await h.setUp();
    await h.startRuntime({ containerLimits: { pidsLimit: 64, logMaxSize: '1m', logMaxFiles: 2 } });
  });
  afterAll(() => h.tearDown());

  it('applies the configured pids limit and log rotation instead of the defaults', async () => {
    const id = await h.assign(webSpec(), { space: space('limits') });
    await h.eventually(id, 'InstanceStarted');
    const [c] = await h.containersOf(id);
    const { HostConfig } = await h.docker.getContainer(c!.Id).inspect();
    expect(HostConfig.PidsLimit).toBe(64);
    expect(HostConfig.LogConfig).toEqual({
      Type: 'json-file',
      Config: { 'max-size': '1m', 'max-file': '2' },
    });
  });
});

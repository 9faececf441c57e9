import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { expectEventually } from '@pier/testing';
import {
  ownLabels,
  type Platform,
  platformContainers,
  runSpace,
  startNodes,
  startPlatform,
  stopPlatformWithApps,
} from './platform';

jest.setTimeout(120_000);

const docker = new Docker({ socketPath: '/var/run/docker.sock' });
const SPACE = runSpace('acme');

/** Whether a container or network of this id still exists on the engine. */
const exists = async (kind: 'container' | 'network', id: string) => {
  try {
    await (kind === 'container' ? docker.getContainer(id) : docker.getNetwork(id)).inspect();
    return true;
  } catch {
    return false;
  }
};

/**
 * The tests run on the machine where someone's platform runs (finding 6: with the README's `acme/web`
 * running, the test suite removed its containers and then counted them as its own). Here another
 * installation runs an app of the same space and app name as this test's, with a network of its own
 * that no container uses; the test's platform deploys, looks its containers up, lets its agent clean
 * up networks, and stops and removes everything of its own. The other installation's container and
 * network are never seen and survive all of it.
 */
describe('a test platform sees and touches only what it created (real Docker)', () => {
  let platform: Platform | undefined;
  const stateDir = mkdtempSync(join(tmpdir(), 'pier-isolation-'));
  const decoyInstallation = `decoy-${randomBytes(4).toString('hex')}`;
  const decoy = { container: '', network: '' };

  beforeAll(async () => {
    // Made before the test's agent starts, so that it is older than the agent's grace for empty
    // networks long before the test ends.
    const network = await docker.createNetwork({
      Name: `pier-${decoyInstallation}`,
      Driver: 'bridge',
      Labels: { 'pier.managed': 'true', 'pier.space': SPACE, 'pier.installation': decoyInstallation },
    });
    decoy.network = network.id;
    const container = await docker.createContainer({
      Image: 'pier/busybox:latest',
      Cmd: ['sleep', '3600'],
      Labels: {
        'pier.managed': 'true',
        'pier.installation': decoyInstallation,
        'pier.node': randomUUID(),
        'pier.instance': randomUUID(),
        'pier.space': SPACE,
        'pier.app': 'web',
        'pier.version': '1',
      },
    });
    await container.start();
    decoy.container = container.id;
  });

  afterAll(async () => {
    await stopPlatformWithApps(platform);
    if (decoy.container)
      await docker
        .getContainer(decoy.container)
        .remove({ force: true })
        .catch(() => undefined);
    if (decoy.network)
      await docker
        .getNetwork(decoy.network)
        .remove()
        .catch(() => undefined);
  });

  it('finds its own containers only, its agent prunes its own networks only, and its clean-up leaves the rest', async () => {
    // Empty networks are pruned 1 s after they were last in use here (5 minutes by default).
    platform = await startPlatform('isolation', { PIER_AGENT_NETWORK_IDLE_SECONDS: '1' });
    const admin = await platform.login(platform.admin.email, platform.admin.password);
    expect((await platform.call(admin, 'POST', '/spaces', { name: SPACE })).status).toBe(201);
    await startNodes(platform, admin, stateDir, ['one']);
    const base = `/spaces/${SPACE}/apps/web`;
    expect(
      (await platform.call(admin, 'POST', `/spaces/${SPACE}/apps`, { name: 'web', cluster: 'main' })).status,
    ).toBe(201);
    const version = {
      image: 'pier/busybox:latest',
      command: ['sleep', '3600'],
      resources: { cpu: 10, memory: 16 },
    };
    expect((await platform.call(admin, 'POST', `${base}/versions`, version)).status).toBe(201);
    expect((await platform.call(admin, 'POST', `${base}/versions/1/deploy`, { instances: 1 })).status).toBe(
      202,
    );
    type Instance = { id: string; state: string };
    let instance: Instance | undefined;
    await expectEventually(
      async () => {
        [instance] = (
          await platform!.call<{ items: Instance[] }>(admin, 'GET', `${base}/instances`)
        ).body.items;
        expect(instance?.state).toBe('ready');
      },
      { timeoutMs: 60_000, what: 'the instance ready' },
    );

    // Looked up by space and app, only the platform's own container shows.
    const found = await platformContainers(platform, [`pier.space=${SPACE}`, 'pier.app=web']);
    expect(found.map((c) => c.Labels['pier.instance'])).toEqual([instance!.id]);
    expect(found.map((c) => c.Id)).not.toContain(decoy.container);

    // An empty network of the platform's own installation is pruned by its agent (after its 10 s grace
    // and the idle period);
    // by then the agent has looked at the other installation's empty network too, and left it.
    const own = await docker.createNetwork({
      Name: `pier-${platform.installation}-unused`,
      Driver: 'bridge',
      Labels: { 'pier.managed': 'true', 'pier.space': SPACE, 'pier.installation': platform.installation },
    });
    await expectEventually(async () => expect(await exists('network', own.id)).toBe(false), {
      timeoutMs: 40_000,
      intervalMs: 500,
      what: "the platform's own empty network pruned by its agent",
    });
    expect(await exists('network', decoy.network)).toBe(true);

    await stopPlatformWithApps(platform);
    const stopped = platform;
    platform = undefined;
    expect(await platformContainers(stopped)).toEqual([]);
    expect(await docker.listNetworks({ filters: { label: ownLabels(stopped) } })).toEqual([]);
    expect(await exists('container', decoy.container)).toBe(true);
    expect((await docker.getContainer(decoy.container).inspect()).State.Running).toBe(true);
    expect(await exists('network', decoy.network)).toBe(true);
  });
});

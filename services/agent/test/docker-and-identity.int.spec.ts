import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { DockerDriver } from '../src/infrastructure/docker/docker.driver';
import { IdentityFileStore } from '../src/infrastructure/fs/identity.file-store';

describe('DockerDriver against the real engine', () => {
  it('fingerprints capacity and versions', async () => {
    const fingerprint = await new DockerDriver().fingerprint();
    expect(fingerprint.capacity.cpuMillicores).toBeGreaterThanOrEqual(1000);
    expect(fingerprint.capacity.cpuMillicores % 1000).toBe(0);
    expect(fingerprint.capacity.memoryMiB).toBeGreaterThan(100);
    expect(fingerprint.engine).toMatchObject({ driver: 'docker', arch: expect.any(String) });
    expect(fingerprint.engine.version).toMatch(/^\d+\.\d+/);
  });

  it('fails when the engine cannot be reached', async () => {
    await expect(
      new DockerDriver({ dockerHost: 'unix:///nonexistent/docker.sock' }).fingerprint(),
    ).rejects.toThrow();
  });

  it('stops containers one at a time with a teardown concurrency of 1, all at once with 0', async () => {
    const docker = new Docker();
    // `sleep` as PID 1 ignores SIGTERM: each stop takes its whole 1 s grace period, then SIGKILL.
    const sleepers = async () =>
      Promise.all(
        [1, 2, 3].map(async () => {
          const c = await docker.createContainer({ Image: 'pier/busybox:latest', Cmd: ['sleep', '600'] });
          await c.start();
          return c.id;
        }),
      );
    /** When each of the three stops, asked for at once, finished (ms from the ask). */
    const stopAll = async (driver: DockerDriver, ids: string[]) => {
      const from = performance.now();
      const done = await Promise.all(
        ids.map((id) => driver.stop(id, 1).then(() => performance.now() - from)),
      );
      await Promise.all(ids.map((id) => driver.destroy(id)));
      return done.sort((a, b) => a - b);
    };
    const paced = await stopAll(new DockerDriver({ teardownConcurrency: 1 }), await sleepers());
    expect(paced[1]! - paced[0]!).toBeGreaterThan(900);
    expect(paced[2]! - paced[1]!).toBeGreaterThan(900);
    const unpaced = await stopAll(new DockerDriver({ teardownConcurrency: 0 }), await sleepers());
    expect(unpaced[2]! - unpaced[0]!).toBeLessThan(900);
  });
});

describe('IdentityFileStore', () => {
  it('keeps the identity readable by its owner only, and reads back what it wrote', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'pier-identity-')), 'nested');
    const store = new IdentityFileStore(dir);
    expect(await store.read()).toBeNull();
    const identity = { nodeId: '33333333-3333-4333-8333-333333333333', credential: 'c'.repeat(43) };
    await store.write(identity);
    expect(await store.read()).toEqual(identity);
    expect((await stat(join(dir, 'identity.json'))).mode & 0o777).toBe(0o600);
    await store.write({ ...identity, clusterId: '11111111-1111-4111-8111-111111111111' });
    expect(JSON.parse(await readFile(join(dir, 'identity.json'), 'utf8')).clusterId).toBe(
      '11111111-1111-4111-8111-111111111111',
    );
  });

  it('refuses a damaged identity file with what to do about it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pier-identity-'));
    await writeFile(join(dir, 'identity.json'), '{"nodeId":"nope"}');
    await expect(new IdentityFileStore(dir).read()).rejects.toThrow(/remove it to join as a new node/);
  });
});

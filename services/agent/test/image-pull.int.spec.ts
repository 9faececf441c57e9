import type Docker from 'dockerode';
import { expectEventually } from '@pier/testing';
import { IMAGE, RuntimeHarness, webSpec } from './runtime-harness';

const REGISTRY = '127.0.0.1:5000';

/** Pushes the local busybox image to the platform registry (plain HTTP on 127.0.0.1) as `ref`. */
async function push(docker: Docker, ref: string): Promise<void> {
  const [repo, tag] = [ref.slice(0, ref.lastIndexOf(':')), ref.slice(ref.lastIndexOf(':') + 1)];
  await docker.getImage(IMAGE).tag({ repo, tag });
  const stream = await docker.getImage(ref).push({ authconfig: { serveraddress: REGISTRY } });
  const output = await new Promise<{ error?: string }[]>((resolve, reject) =>
    docker.modem.followProgress(stream, (error: Error | null, out: { error?: string }[]) =>
      error ? reject(error) : resolve(out),
    ),
  );
  const failure = output.find((line) => line.error);
  if (failure) throw new Error(`push ${ref}: ${failure.error}`);
}

describe('InstanceRuntime: images from a registry', () => {
  const h = new RuntimeHarness('agent-pull');
  const present = (ref: string) =>
    h.docker
      .getImage(ref)
      .inspect()
      .then(() => true)
      .catch(() => false);
  const pushed: string[] = [];

  beforeAll(async () => {
    await h.setUp();
    h.secrets.set('acme/regcred', { kind: 'registry', server: REGISTRY, username: 'deploy', password: 'pw' });
    await h.startRuntime();
  });
  afterAll(async () => {
    await h.tearDown();
    for (const ref of pushed)
      await h.docker
        .getImage(ref)
        .remove({ force: true })
        .catch(() => undefined);
  });

  it('pulls a missing image with the credentials of the registry secret', async () => {
    const ref = `${REGISTRY}/${h.prefix}/web:1`;
    pushed.push(ref);
    await push(h.docker, ref);
    await h.docker.getImage(ref).remove();
    expect(await present(ref)).toBe(false);
    const id = await h.assign(webSpec({ image: ref, registrySecret: 'regcred' }));
    await h.eventually(id, 'InstanceStarted');
    expect(await present(ref)).toBe(true);
    expect(h.revealCalls).toContainEqual({
      space: 'acme',
      name: 'regcred',
      caller: { kind: 'node', nodeId: h.nodeId, credential: h.credential },
    });
  });

  it('keeps retrying a failed pull with back-off, reporting the failure once, until it works', async () => {
    const ref = `${REGISTRY}/${h.prefix}/later:1`;
    pushed.push(ref);
    const id = await h.assign(webSpec({ image: ref, registrySecret: 'regcred' }));
    const [failed] = await h.eventually(id, 'InstanceFailed');
    expect(failed!.data).toMatchObject({
      code: 'IMAGE_PULL_FAILED',
      reason: expect.stringContaining(`pulling ${ref} failed: `),
    });
    // Each attempt reads the secret again: three reads are three attempts.
    const reads = () => h.revealCalls.filter((c) => c.name === 'regcred').length;
    const before = reads();
    await expectEventually(() => expect(reads()).toBeGreaterThanOrEqual(before + 2), {
      what: 'pull retried',
    });
    expect(await h.types(id)).toEqual(['InstanceFailed']);
    await push(h.docker, ref);
    await h.eventually(id, 'InstanceStarted');
  });
});

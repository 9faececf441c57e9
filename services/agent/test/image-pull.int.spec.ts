import { expectEventually } from '@pier/testing';
import { IMAGE, RuntimeHarness, webSpec } from './runtime-harness';
import { removeImageTags, TestRegistry } from './test-registry';

describe('InstanceRuntime: images from a registry', () => {
  const h = new RuntimeHarness('agent-pull');
  // A registry of this file's own, with authentication like the platform's.
  const registry = new TestRegistry();
  const present = (ref: string) =>
    h.docker
      .getImage(ref)
      .inspect()
      .then(() => true)
      .catch(() => false);
  const pushed: string[] = [];

  beforeAll(async () => {
    await h.setUp();
    await registry.start();
    h.secrets.set('acme/regcred', registry.secret());
    await h.startRuntime();
  });
  afterAll(async () => {
    await h.tearDown();
    await registry.remove();
    await removeImageTags(h.docker, pushed);
  });

  it('pulls a missing image with the credentials of the registry secret', async () => {
    const ref = await registry.push(h.docker, IMAGE, `${h.prefix}/web`, '1');
    pushed.push(ref);
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
    const ref = `${registry.host}/${h.prefix}/later:1`;
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
    await registry.push(h.docker, IMAGE, `${h.prefix}/later`, '1');
    await h.eventually(id, 'InstanceStarted');
  });
});

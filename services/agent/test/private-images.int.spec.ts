import { randomBytes } from 'node:crypto';
import { IMAGE, RuntimeHarness, webSpec } from './runtime-harness';
import { removeImageTags, TestRegistry } from './test-registry';

/**
 * Finding 7 of issue 9: an image pulled once with space A's registry secret used to run for anybody on
 * the node, because a cached image skipped the pull. Against a real registry with htpasswd auth.
 */
describe('Private images stay private (registry with authentication)', () => {
  const h = new RuntimeHarness('agent-private');
  const registry = new TestRegistry();
  const suffix = randomBytes(4).toString('hex');
  const [spaceA, spaceB, spaceC] = ['a', 'b', 'c'].map((s) => `priv-${s}-${suffix}`);
  const refs: string[] = [];
  let image = '';

  const failure = async (instanceId: string) => {
    const [failed] = await h.eventually(instanceId, 'InstanceFailed');
    // Never started: no container was even created for it.
    expect(await h.types(instanceId)).not.toContain('InstanceStarted');
    expect(await h.containersOf(instanceId)).toEqual([]);
    return failed!.data as { code: string; reason: string };
  };

  beforeAll(async () => {
    await h.setUp();
    await registry.start();
    image = await registry.push(h.docker, IMAGE, `${spaceA}/private`, '1');
    refs.push(image);
    h.secrets.set(`${spaceA}/regcred`, registry.secret());
    h.secrets.set(`${spaceC}/regcred`, registry.secret('not-the-password'));
    await h.startRuntime();
  });
  afterEach(() => h.unassignAll());
  afterAll(async () => {
    await h.tearDown();
    await registry.remove();
    await removeImageTags(h.docker, refs);
    for (const space of [spaceA, spaceB, spaceC]) {
      await h.docker
        .getNetwork(`pier-${space}`)
        .remove()
        .catch(() => undefined);
    }
  });

  it('runs the image for a version whose registry secret can read it', async () => {
    // Not cached: this launch really pulls, with the secret's credentials.
    await h.docker.getImage(image).remove();
    const id = await h.assign(webSpec({ image, registrySecret: 'regcred' }), { space: spaceA });
    await h.eventually(id, 'InstanceStarted');
    expect(h.revealCalls).toContainEqual(expect.objectContaining({ space: spaceA, name: 'regcred' }));
  });

  it('refuses a version without credentials although the image is cached, starting nothing', async () => {
    await h.docker.getImage(image).inspect();
    const id = await h.assign(webSpec({ image }), { space: spaceB });
    expect(await failure(id)).toMatchObject({
      code: 'IMAGE_PULL_FAILED',
      reason: expect.stringContaining(
        `pulling ${image} failed: ${registry.host} denies access without credentials, ` +
          'and the version has no registry secret for it',
      ),
    });
  });

  it('refuses a version whose registry secret holds wrong credentials', async () => {
    const id = await h.assign(webSpec({ image, registrySecret: 'regcred' }), { space: spaceC });
    expect(await failure(id)).toMatchObject({
      code: 'IMAGE_PULL_FAILED',
      reason: expect.stringContaining('the registry refused the credentials of the registry secret'),
    });
  });

  it('still refuses a version without credentials once the registry cannot be reached', async () => {
    await registry.stop();
    const digest = (await h.docker.getImage(image).inspect()).RepoDigests?.[0];
    const byTag = await h.assign(webSpec({ image }), { space: spaceB });
    expect((await failure(byTag)).reason).toContain(
      'cannot be reached to confirm access, and the cached image was pulled with credentials',
    );
    // Nor by digest, nor by the image's id: other names of the same cached image.
    expect(digest).toBeDefined();
    const byDigest = await h.assign(webSpec({ image: digest! }), { space: spaceB });
    expect((await failure(byDigest)).code).toBe('IMAGE_PULL_FAILED');
    const { Id } = await h.docker.getImage(image).inspect();
    const byId = await h.assign(webSpec({ image: Id }), { space: spaceB });
    expect((await failure(byId)).code).toBe('IMAGE_PULL_FAILED');
  });
});

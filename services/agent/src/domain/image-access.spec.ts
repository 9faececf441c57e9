import {
  classifyRegistryError,
  decideAfterFailedPull,
  decideWithoutCredentials,
  hasExplicitRegistry,
  imageNames,
  needsAnonymousCheck,
} from './image-access';

const PRIVATE_REGISTRY = '127.0.0.1:5000/acme/web:1';
const cachedPublic = { id: 'sha256:a', pulledWithCredentials: false };
const cachedPrivate = { id: 'sha256:a', pulledWithCredentials: true };

describe('image names', () => {
  it('lists a reference the way the engine does (familiar, :latest by default, digest kept)', () => {
    expect(imageNames('busybox')).toEqual({ repository: 'busybox', listed: 'busybox:latest' });
    expect(imageNames('docker.io/library/busybox:1')).toEqual({ repository: 'busybox', listed: 'busybox:1' });
    expect(imageNames('library/busybox')).toMatchObject({ listed: 'busybox:latest' });
    expect(imageNames('pier/busybox:latest')).toMatchObject({ repository: 'pier/busybox' });
    expect(imageNames('127.0.0.1:5000/acme/web')).toEqual({
      repository: '127.0.0.1:5000/acme/web',
      listed: '127.0.0.1:5000/acme/web:latest',
    });
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(imageNames(`ghcr.io/acme/web:1@${digest}`)).toEqual({
      repository: 'ghcr.io/acme/web',
      listed: `ghcr.io/acme/web@${digest}`,
    });
    // An image id used as a reference is a repository named "sha256", which the engine lists nowhere.
    expect(imageNames(digest).listed).toBe(digest);
  });

  it('tells references naming their registry from Docker Hub’s and locally built ones', () => {
    expect(hasExplicitRegistry(PRIVATE_REGISTRY)).toBe(true);
    expect(hasExplicitRegistry('localhost/web')).toBe(true);
    expect(hasExplicitRegistry('pier/busybox:latest')).toBe(false);
    expect(hasExplicitRegistry('docker.io/acme/web')).toBe(false);
  });
});

describe('registry answers', () => {
  it('reads the engine’s words: denied, missing, or anything else as unavailable', () => {
    const denied = [
      'Head "http://127.0.0.1:5055/v2/space-a/private/manifests/1": no basic auth credentials',
      'unauthorized: authentication required',
      "pull access denied for acme/x, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
    ];
    for (const m of denied) expect(classifyRegistryError(m)).toBe('denied');
    expect(classifyRegistryError('manifest unknown: manifest unknown')).toBe('missing');
    expect(
      classifyRegistryError(
        'Get "http://127.0.0.1:5056/v2/": dial tcp 127.0.0.1:5056: connect: connection refused',
      ),
    ).toBe('unavailable');
    expect(classifyRegistryError('lookup registry-1.docker.io: no such host')).toBe('unavailable');
  });
});

describe('launching without credentials', () => {
  it('asks explicit registries, and any registry of an image once pulled with credentials', () => {
    expect(needsAnonymousCheck(PRIVATE_REGISTRY, null)).toBe(true);
    expect(needsAnonymousCheck('pier/busybox:latest', cachedPublic)).toBe(false);
    expect(needsAnonymousCheck('pier/busybox:latest', null)).toBe(false);
    expect(needsAnonymousCheck('acme/private:1', cachedPrivate)).toBe(true);
  });

  it('takes the registry’s yes or no over the cache', () => {
    expect(decideWithoutCredentials(PRIVATE_REGISTRY, cachedPrivate, 'readable')).toEqual({
      action: 'use-cached',
    });
    expect(decideWithoutCredentials(PRIVATE_REGISTRY, null, 'readable')).toEqual({ action: 'pull' });
    expect(decideWithoutCredentials('pier/busybox:latest', null, null)).toEqual({ action: 'pull' });
    for (const local of [null, cachedPublic, cachedPrivate]) {
      expect(decideWithoutCredentials(PRIVATE_REGISTRY, local, 'denied')).toEqual({
        action: 'refuse',
        why: '127.0.0.1:5000 denies access without credentials, and the version has no registry secret for it',
      });
    }
  });

  it('without an answer, uses a cached image only if this node never needed credentials for it', () => {
    for (const answer of ['unavailable', 'missing'] as const) {
      expect(decideWithoutCredentials(PRIVATE_REGISTRY, cachedPublic, answer)).toEqual({
        action: 'use-cached',
      });
      expect(decideWithoutCredentials(PRIVATE_REGISTRY, cachedPrivate, answer)).toMatchObject({
        action: 'refuse',
      });
      expect(decideWithoutCredentials(PRIVATE_REGISTRY, null, answer)).toMatchObject({ action: 'refuse' });
    }
  });
});

describe('a pull with credentials that failed', () => {
  it('is final when the registry answered; falls back to the cache only for images never pulled with credentials', () => {
    expect(decideAfterFailedPull(cachedPublic, 'denied')).toMatchObject({ action: 'refuse' });
    expect(decideAfterFailedPull(cachedPublic, 'missing')).toMatchObject({ action: 'refuse' });
    expect(decideAfterFailedPull(cachedPublic, 'unavailable')).toEqual({ action: 'use-cached' });
    expect(decideAfterFailedPull(cachedPrivate, 'unavailable')).toEqual({
      action: 'refuse',
      why: 'the registry cannot be reached to re-check the credentials of the cached image',
    });
    expect(decideAfterFailedPull(null, 'unavailable')).toMatchObject({ action: 'refuse' });
  });
});

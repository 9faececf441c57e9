import { assertTestNamespace, isTestNamespace, uniqueName } from './test-env';

describe('test namespaces', () => {
  it('are what uniqueName makes, and the schemas derived from them', () => {
    const prefix = uniqueName('Deploy e2e');
    expect(isTestNamespace(prefix)).toBe(true);
    expect(isTestNamespace(`${prefix}_auth`)).toBe(true);
    expect(isTestNamespace(uniqueName('a-very-long-label-of-more-than-twenty'))).toBe(true);
  });

  it('never the namespace of a platform in use, so clean-ups refuse it', () => {
    for (const name of ['pier', 'pier_clusters', 'public', 't_', 't_deploy', 'T_DEPLOY_0a1b2c3d', '']) {
      expect(isTestNamespace(name)).toBe(false);
      expect(() => assertTestNamespace(name, 'the streams of')).toThrow(/not a test namespace/);
    }
  });
});

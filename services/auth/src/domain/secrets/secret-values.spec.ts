import { describeSecret, GENERIC_SECRET_LIMITS, secretValueSchema, type SecretValue } from './secret-values';
import { TlsBundleError } from './tls-bundle';
import {
  createTlsFixtures,
  FIXTURE_NOW,
  LEAF_NOT_AFTER,
  LEAF_SANS,
  type TlsFixtures,
} from './tls-fixtures.spec-helper';

const KIB = 1024;

const generic = (data: Record<string, string>): unknown => ({ kind: 'generic', data });
const registry = (fields: Partial<Record<'server' | 'username' | 'password', string>>): unknown => ({
  kind: 'registry',
  server: 'registry.example.com',
  username: 'deploy',
  password: 'hunter2-but-longer',
  ...fields,
});

const accepts = (value: unknown): boolean => secretValueSchema.safeParse(value).success;

describe('secretValueSchema', () => {
  describe('generic', () => {
    it('accepts key/value pairs', () => {
      expect(
        secretValueSchema.parse(generic({ DATABASE_URL: 'postgres://x', _token: 't', 'app.conf': '' })),
      ).toEqual({
        kind: 'generic',
        data: { DATABASE_URL: 'postgres://x', _token: 't', 'app.conf': '' },
      });
      expect(accepts(generic({ [`K${'x'.repeat(127)}`]: 'v' }))).toBe(true);
    });

    it('refuses key names that are not identifiers', () => {
      for (const key of [
        '',
        '1ABC',
        'with space',
        'a/b',
        'é',
        `K${'x'.repeat(128)}`,
        '-dash',
        '.dot',
        '__proto__',
      ]) {
        expect(accepts(generic({ [key]: 'v' }))).toBe(false);
      }
      expect(accepts(JSON.parse('{"kind":"generic","data":{"__proto__":"x","A":"b"}}'))).toBe(false);
    });

    it('requires 1 to 100 keys', () => {
      const keys = (n: number): Record<string, string> =>
        Object.fromEntries(Array.from({ length: n }, (_, i) => [`KEY_${i}`, 'v']));
      expect(accepts(generic({}))).toBe(false);
      expect(accepts(generic(keys(GENERIC_SECRET_LIMITS.maxKeys)))).toBe(true);
      expect(accepts(generic(keys(GENERIC_SECRET_LIMITS.maxKeys + 1)))).toBe(false);
    });

    it('limits each value to 64 KiB of UTF-8', () => {
      expect(accepts(generic({ A: 'x'.repeat(64 * KIB) }))).toBe(true);
      expect(accepts(generic({ A: 'x'.repeat(64 * KIB + 1) }))).toBe(false);
      // 2 bytes per character: within 64 KiB characters, beyond 64 KiB bytes.
      expect(accepts(generic({ A: 'é'.repeat(32 * KIB) }))).toBe(true);
      expect(accepts(generic({ A: 'é'.repeat(32 * KIB + 1) }))).toBe(false);
    });

    it('keeps keys and values together under 256 KiB', () => {
      const big = 'x'.repeat(64 * KIB);
      expect(accepts(generic({ A: big, B: big, C: big, D: 'x'.repeat(64 * KIB - 5) }))).toBe(true);
      expect(accepts(generic({ A: big, B: big, C: big, D: 'x'.repeat(64 * KIB - 4) }))).toBe(false);
      expect(accepts(generic({ A: big, B: big, C: big, D: big }))).toBe(false);
    });

    it('refuses values that are not strings', () => {
      expect(accepts({ kind: 'generic', data: { A: 1 } })).toBe(false);
      expect(accepts({ kind: 'generic', data: ['a'] })).toBe(false);
      expect(accepts({ kind: 'generic' })).toBe(false);
    });
  });

  describe('registry', () => {
    it('accepts host[:port] servers', () => {
      for (const server of [
        '127.0.0.1:5000',
        'registry.example.com',
        'localhost:5000',
        'ghcr.io',
        'Reg-1.example.com:443',
        '[::1]:5000',
      ]) {
        expect(accepts(registry({ server }))).toBe(true);
      }
    });

    it('refuses schemes, paths, bad ports and non-hosts', () => {
      for (const server of [
        '',
        'https://registry.example.com',
        'registry.example.com/v2',
        'registry.example.com:',
        'registry.example.com:0',
        'registry.example.com:65536',
        'registry .example.com',
        '-bad.example.com',
        'registry..example.com',
        'user@registry.example.com',
      ]) {
        expect(accepts(registry({ server }))).toBe(false);
      }
    });

    it('bounds user name and password', () => {
      expect(accepts(registry({ username: 'u'.repeat(256), password: 'p'.repeat(4096) }))).toBe(true);
      expect(accepts(registry({ username: '' }))).toBe(false);
      expect(accepts(registry({ username: 'u'.repeat(257) }))).toBe(false);
      expect(accepts(registry({ username: 'robot:ci' }))).toBe(false);
      expect(accepts(registry({ password: '' }))).toBe(false);
      expect(accepts(registry({ password: 'p'.repeat(4097) }))).toBe(false);
    });
  });

  it('accepts a TLS shape (its content is checked by describeSecret)', () => {
    expect(accepts({ kind: 'tls', certificate: '-----BEGIN CERTIFICATE-----', privateKey: 'k' })).toBe(true);
    expect(accepts({ kind: 'tls', certificate: '', privateKey: 'k' })).toBe(false);
    expect(accepts({ kind: 'tls', certificate: 'c' })).toBe(false);
  });

  it('refuses unknown kinds and unknown fields', () => {
    expect(accepts({ kind: 'ssh', data: {} })).toBe(false);
    expect(accepts({ data: { A: 'b' } })).toBe(false);
    expect(accepts({ kind: 'generic', data: { A: 'b' }, extra: true })).toBe(false);
    expect(accepts({ ...(registry({}) as object), email: 'x@example.com' })).toBe(false);
    expect(accepts(null)).toBe(false);
  });

  it('reports where a value is wrong', () => {
    const result = secretValueSchema.safeParse(registry({ server: 'https://x' }));
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => i.path.join('.'))).toEqual(['server']);
    expect(result.error!.issues[0]!.message).toMatch(/host\[:port\]/);
  });
});

describe('describeSecret', () => {
  let f: TlsFixtures;

  beforeAll(() => {
    f = createTlsFixtures();
  });

  it('shows the sorted key names of a generic secret, never a value', () => {
    const value: SecretValue = {
      kind: 'generic',
      data: { b_KEY: 'value-b', A_KEY: 'value-a', _z: 'value-z' },
    };
    const metadata = describeSecret(value, FIXTURE_NOW);
    expect(metadata).toEqual({ kind: 'generic', keys: ['A_KEY', '_z', 'b_KEY'] });
    expect(JSON.stringify(metadata)).not.toContain('value-');
  });

  it('shows server and user name of registry credentials, never the password', () => {
    const value = secretValueSchema.parse(registry({ server: '127.0.0.1:5000' }));
    const metadata = describeSecret(value, FIXTURE_NOW);
    expect(metadata).toEqual({ kind: 'registry', server: '127.0.0.1:5000', username: 'deploy' });
    expect(JSON.stringify(metadata)).not.toContain('hunter2');
  });

  it('shows the leaf certificate of a TLS secret and its expiry, never the key', () => {
    const value = secretValueSchema.parse({
      kind: 'tls',
      certificate: f.leaf + f.intermediateCa,
      privateKey: f.leafKey,
    });
    const metadata = describeSecret(value, FIXTURE_NOW);
    expect(metadata).toMatchObject({
      kind: 'tls',
      subject: 'CN=app.example.com, O=Pier Fixtures',
      issuer: 'CN=Pier Fixture Intermediate CA',
      subjectAltNames: LEAF_SANS,
      notAfter: LEAF_NOT_AFTER,
      expired: false,
      // 2030-06-15T12:00Z to 2040-01-01T00:00Z is 3486.5 days.
      expiresInDays: 3486,
    });
    expect(Object.keys(metadata).sort()).toEqual([
      'expired',
      'expiresInDays',
      'fingerprintSha256',
      'issuer',
      'kind',
      'notAfter',
      'notBefore',
      'subject',
      'subjectAltNames',
    ]);
    expect(JSON.stringify(metadata)).not.toContain('PRIVATE KEY');
  });

  it('counts whole days left, rounding down', () => {
    const value = secretValueSchema.parse({ kind: 'tls', certificate: f.leaf, privateKey: f.leafKey });
    expect(describeSecret(value, '2039-12-31T00:00:00.001Z')).toMatchObject({
      expired: false,
      expiresInDays: 0,
    });
    expect(describeSecret(value, '2039-12-30T00:00:00.000Z')).toMatchObject({ expiresInDays: 2 });
  });

  it('refuses an unusable TLS bundle with its TlsBundleError', () => {
    const expired = secretValueSchema.parse({
      kind: 'tls',
      certificate: f.expiredLeaf,
      privateKey: f.leafKey,
    });
    expect(() => describeSecret(expired, FIXTURE_NOW)).toThrow(TlsBundleError);
    const mismatched = secretValueSchema.parse({ kind: 'tls', certificate: f.leaf, privateKey: f.otherKey });
    expect(() => describeSecret(mismatched, FIXTURE_NOW)).toThrow(
      expect.objectContaining({ code: 'TLS_KEY_MISMATCH' }),
    );
  });
});

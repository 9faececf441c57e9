import { X509Certificate } from 'node:crypto';
import {
  createTlsFixtures,
  FIXTURE_NOW,
  LEAF_NOT_AFTER,
  LEAF_NOT_BEFORE,
  LEAF_SANS,
  type TlsFixtures,
} from './tls-fixtures.spec-helper';
import {
  splitSubjectAltNames,
  TlsBundleError,
  type TlsBundleErrorCode,
  validateTlsBundle,
} from './tls-bundle';

describe('validateTlsBundle', () => {
  let f: TlsFixtures;

  beforeAll(() => {
    f = createTlsFixtures();
  });

  function expectRefused(
    certificate: string,
    key: string,
    code: TlsBundleErrorCode,
    now = FIXTURE_NOW,
  ): void {
    let error: unknown;
    try {
      validateTlsBundle(certificate, key, now);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TlsBundleError);
    expect((error as TlsBundleError).code).toBe(code);
    expect((error as TlsBundleError).message).not.toHaveLength(0);
  }

  describe('accepts', () => {
    it('a leaf and its chain, and summarizes the leaf', () => {
      const summary = validateTlsBundle(f.leaf + f.intermediateCa + f.rootCa, f.leafKey, FIXTURE_NOW);
      expect(summary).toEqual({
        subject: 'CN=app.example.com, O=Pier Fixtures',
        issuer: 'CN=Pier Fixture Intermediate CA',
        subjectAltNames: LEAF_SANS,
        notBefore: LEAF_NOT_BEFORE,
        notAfter: LEAF_NOT_AFTER,
        fingerprintSha256: new X509Certificate(f.leaf).fingerprint256,
      });
      expect(summary.fingerprintSha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    });

    it('a leaf alone or with its intermediate only (the root is optional)', () => {
      expect(validateTlsBundle(f.leaf, f.leafKey, FIXTURE_NOW).subject).toContain('CN=app.example.com');
      expect(validateTlsBundle(f.leaf + f.intermediateCa, f.leafKey, FIXTURE_NOW).notAfter).toBe(
        LEAF_NOT_AFTER,
      );
    });

    it('CRLF line endings and text around the PEM blocks', () => {
      const crlf = (pem: string): string => pem.replace(/\n/g, '\r\n');
      const certificate = `subject=CN = app.example.com\n${crlf(f.leaf)}\n\n${crlf(f.intermediateCa)}  \n`;
      expect(validateTlsBundle(certificate, crlf(f.leafKey), FIXTURE_NOW).notBefore).toBe(LEAF_NOT_BEFORE);
    });

    it('the last instant before notAfter and the first instant of notBefore', () => {
      const justBefore = new Date(Date.parse(LEAF_NOT_AFTER) - 1).toISOString();
      expect(validateTlsBundle(f.leaf, f.leafKey, justBefore).notAfter).toBe(LEAF_NOT_AFTER);
      expect(validateTlsBundle(f.leaf, f.leafKey, LEAF_NOT_BEFORE).notBefore).toBe(LEAF_NOT_BEFORE);
    });
  });

  describe('refuses', () => {
    it('text that holds no parsable certificate', () => {
      expectRefused('', f.leafKey, 'TLS_CERTIFICATE_INVALID');
      expectRefused('not a certificate', f.leafKey, 'TLS_CERTIFICATE_INVALID');
      expectRefused(
        '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
        f.leafKey,
        'TLS_CERTIFICATE_INVALID',
      );
      const corrupted = f.leaf.replace(/\n([A-Za-z0-9+/]{10})/, '\n!!!!!!!!!!');
      expectRefused(corrupted, f.leafKey, 'TLS_CERTIFICATE_INVALID');
    });

    it('a truncated chain and a private key in the certificate field', () => {
      expectRefused(f.leaf + f.intermediateCa.slice(0, 200), f.leafKey, 'TLS_CERTIFICATE_INVALID');
      expectRefused(f.leaf + f.leafKey, f.leafKey, 'TLS_CERTIFICATE_INVALID');
      expectRefused(f.leafKey, f.leafKey, 'TLS_CERTIFICATE_INVALID');
    });

    it('more than 10 certificates', () => {
      expectRefused(f.leaf + f.intermediateCa.repeat(10), f.leafKey, 'TLS_CERTIFICATE_INVALID');
    });

    it('a chain whose next certificate is not the issuer', () => {
      expectRefused(f.leaf + f.unrelatedCa, f.leafKey, 'TLS_CHAIN_INVALID');
      expectRefused(f.leaf + f.rootCa, f.leafKey, 'TLS_CHAIN_INVALID');
      expectRefused(f.leaf + f.rootCa + f.intermediateCa, f.leafKey, 'TLS_CHAIN_INVALID');
      expectRefused(f.leaf + f.intermediateCa + f.unrelatedCa, f.leafKey, 'TLS_CHAIN_INVALID');
      expectRefused(f.leaf + f.impostorIntermediateCa + f.rootCa, f.leafKey, 'TLS_CHAIN_INVALID');
      expect(() => validateTlsBundle(f.leaf + f.unrelatedCa, f.leafKey, FIXTURE_NOW)).toThrow(
        'certificate 1 (CN=app.example.com, O=Pier Fixtures) is not issued by certificate 2 (CN=Unrelated CA)',
      );
    });

    it('a chain in the wrong order', () => {
      expectRefused(f.intermediateCa + f.leaf, f.leafKey, 'TLS_CHAIN_INVALID');
    });

    it('a private key that cannot be read', () => {
      expectRefused(f.leaf, '', 'TLS_KEY_INVALID');
      expectRefused(f.leaf, 'not a key', 'TLS_KEY_INVALID');
      expectRefused(f.leaf, f.leaf, 'TLS_KEY_INVALID');
      expectRefused(f.leaf, f.leafKeyEncrypted, 'TLS_KEY_INVALID');
    });

    it('a private key of another certificate', () => {
      expectRefused(f.leaf + f.intermediateCa, f.otherKey, 'TLS_KEY_MISMATCH');
      expect(() => validateTlsBundle(f.leaf, f.otherKey, FIXTURE_NOW)).toThrow(/does not belong/);
    });

    it('an expired leaf, including at the instant of notAfter', () => {
      expectRefused(f.expiredLeaf + f.intermediateCa, f.leafKey, 'TLS_CERTIFICATE_EXPIRED');
      expect(() => validateTlsBundle(f.expiredLeaf, f.leafKey, FIXTURE_NOW)).toThrow(
        'the certificate expired at 2021-01-01T00:00:00.000Z',
      );
      expectRefused(f.leaf, f.leafKey, 'TLS_CERTIFICATE_EXPIRED', LEAF_NOT_AFTER);
    });

    it('a leaf that is not valid yet', () => {
      expectRefused(f.notYetValidLeaf + f.intermediateCa, f.leafKey, 'TLS_CERTIFICATE_NOT_YET_VALID');
      expect(() => validateTlsBundle(f.notYetValidLeaf, f.leafKey, FIXTURE_NOW)).toThrow(
        /2035-01-01T00:00:00.000Z/,
      );
      const justBefore = new Date(Date.parse(LEAF_NOT_BEFORE) - 1).toISOString();
      expectRefused(f.leaf, f.leafKey, 'TLS_CERTIFICATE_NOT_YET_VALID', justBefore);
    });

    it('reports problems in order: chain before key, key before validity', () => {
      expectRefused(f.expiredLeaf + f.unrelatedCa, f.otherKey, 'TLS_CHAIN_INVALID');
      expectRefused(f.expiredLeaf, f.otherKey, 'TLS_KEY_MISMATCH');
    });
  });

  it('treats a `now` that is not a date as a programming error', () => {
    expect(() => validateTlsBundle(f.leaf, f.leafKey, 'soon')).toThrow(Error);
    expect(() => validateTlsBundle(f.leaf, f.leafKey, 'soon')).not.toThrow(TlsBundleError);
  });
});

describe('splitSubjectAltNames', () => {
  it('splits Node’s text, unquoting JSON-quoted values', () => {
    expect(splitSubjectAltNames(undefined)).toEqual([]);
    expect(splitSubjectAltNames('DNS:a.example.com, IP Address:10.0.0.1')).toEqual([
      'DNS:a.example.com',
      'IP Address:10.0.0.1',
    ]);
    expect(splitSubjectAltNames('DNS:"a, b.example.com", URI:"https://x.example.com/\\"q\\""')).toEqual([
      'DNS:a, b.example.com',
      'URI:https://x.example.com/"q"',
    ]);
  });
});

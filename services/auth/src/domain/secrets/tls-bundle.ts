import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';

/** Longest chain accepted: real chains have 2 to 4 certificates; more is a mistake or an attack on the parser. */
const MAX_CHAIN_LENGTH = 10;
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
const PEM_BEGIN = /-----BEGIN /g;

/** Why a certificate and key were refused; the codes are `ErrorCode`s of `@pier/contracts`. */
export type TlsBundleErrorCode =
  | 'TLS_CERTIFICATE_INVALID'
  | 'TLS_CHAIN_INVALID'
  | 'TLS_KEY_INVALID'
  | 'TLS_KEY_MISMATCH'
  | 'TLS_CERTIFICATE_EXPIRED'
  | 'TLS_CERTIFICATE_NOT_YET_VALID';

/** A TLS certificate chain and private key that cannot serve together; `code` says why. */
export class TlsBundleError extends Error {
  override readonly name = 'TlsBundleError';

  constructor(
    readonly code: TlsBundleErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** What may be shown about a leaf certificate; dates are ISO, the fingerprint is colon-separated hex. */
export type TlsSummary = {
  /** Distinguished name as `CN=app.example.com, O=Example`. */
  readonly subject: string;
  readonly issuer: string;
  /** Subject alternative names with their type, e.g. `DNS:app.example.com`, `IP Address:127.0.0.1`. */
  readonly subjectAltNames: string[];
  readonly notBefore: string;
  readonly notAfter: string;
  readonly fingerprintSha256: string;
};

/**
 * Checks that a PEM chain (leaf first, then each issuer) and a PEM private key can serve TLS at `now`: every
 * certificate parses, each is issued and signed by the next, the key parses and belongs to the leaf, and the
 * leaf is within its validity. Trust in the chain's root is not checked: that is the client's business.
 * @param now ISO time; the clock is never read here.
 * @throws TlsBundleError with the first problem found, in the order above.
 */
export function validateTlsBundle(certificatePem: string, privateKeyPem: string, now: string): TlsSummary {
  const at = Date.parse(now);
  if (Number.isNaN(at)) throw new Error(`validateTlsBundle: now must be an ISO date-time, got ${now}`);
  const chain = parseChain(certificatePem);
  checkChain(chain);
  const leaf = chain[0]!;
  checkKey(leaf, privateKeyPem);
  const validity = validityOf(leaf);
  if (validity.notAfter <= at) {
    throw new TlsBundleError(
      'TLS_CERTIFICATE_EXPIRED',
      `the certificate expired at ${iso(validity.notAfter)}`,
    );
  }
  if (validity.notBefore > at) {
    throw new TlsBundleError(
      'TLS_CERTIFICATE_NOT_YET_VALID',
      `the certificate is not valid before ${iso(validity.notBefore)}`,
    );
  }
  return {
    subject: distinguishedName(leaf.subject),
    issuer: distinguishedName(leaf.issuer),
    subjectAltNames: splitSubjectAltNames(leaf.subjectAltName),
    notBefore: iso(validity.notBefore),
    notAfter: iso(validity.notAfter),
    fingerprintSha256: leaf.fingerprint256,
  };
}

/**
 * Splits the PEM text into certificates. `X509Certificate` reads only the first block of a PEM text, so each
 * block is parsed on its own; any other block (a private key pasted in the wrong field) is refused.
 */
function parseChain(pem: string): X509Certificate[] {
  const blocks = [...pem.matchAll(PEM_BLOCK)];
  if (blocks.length === 0) {
    throw new TlsBundleError(
      'TLS_CERTIFICATE_INVALID',
      'no PEM certificate (-----BEGIN CERTIFICATE-----) found',
    );
  }
  if ((pem.match(PEM_BEGIN) ?? []).length !== blocks.length) {
    throw new TlsBundleError('TLS_CERTIFICATE_INVALID', 'a PEM block of the certificate is truncated');
  }
  if (blocks.length > MAX_CHAIN_LENGTH) {
    throw new TlsBundleError(
      'TLS_CERTIFICATE_INVALID',
      `the chain has more than ${MAX_CHAIN_LENGTH} certificates`,
    );
  }
  return blocks.map(([block, label], i) => {
    if (label !== 'CERTIFICATE') {
      throw new TlsBundleError(
        'TLS_CERTIFICATE_INVALID',
        `block ${i + 1} is a ${label}, not a CERTIFICATE; the private key goes in its own field`,
      );
    }
    try {
      return new X509Certificate(block);
    } catch {
      throw new TlsBundleError(
        'TLS_CERTIFICATE_INVALID',
        `certificate ${i + 1} of the chain cannot be parsed`,
      );
    }
  });
}

/** Each certificate must name the next as issuer and carry its signature: checkIssued alone compares names. */
function checkChain(chain: X509Certificate[]): void {
  for (let i = 0; i + 1 < chain.length; i++) {
    const [cert, issuer] = [chain[i]!, chain[i + 1]!];
    if (!cert.checkIssued(issuer) || !verifies(cert, issuer)) {
      throw new TlsBundleError(
        'TLS_CHAIN_INVALID',
        `certificate ${i + 1} (${distinguishedName(cert.subject)}) is not issued by certificate ${i + 2} ` +
          `(${distinguishedName(issuer.subject)}); list the leaf first, then each issuer in order`,
      );
    }
  }
}

function verifies(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function checkKey(leaf: X509Certificate, privateKeyPem: string): void {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: privateKeyPem, format: 'pem' });
  } catch {
    throw new TlsBundleError(
      'TLS_KEY_INVALID',
      'the private key cannot be read: it must be an unencrypted PEM private key (PKCS#8, PKCS#1 or SEC1)',
    );
  }
  let matches: boolean;
  try {
    matches = leaf.checkPrivateKey(key);
  } catch {
    matches = false;
  }
  if (!matches) {
    throw new TlsBundleError(
      'TLS_KEY_MISMATCH',
      'the private key does not belong to the first (leaf) certificate',
    );
  }
}

/** Node 20 exposes validity only as text (`Jan  1 00:00:00 2030 GMT`); V8 parses that format. */
function validityOf(cert: X509Certificate): { notBefore: number; notAfter: number } {
  const notBefore = Date.parse(cert.validFrom);
  const notAfter = Date.parse(cert.validTo);
  if (Number.isNaN(notBefore) || Number.isNaN(notAfter)) {
    throw new TlsBundleError(
      'TLS_CERTIFICATE_INVALID',
      'the validity dates of the certificate cannot be read',
    );
  }
  return { notBefore, notAfter };
}

/** Node gives one `key=value` per line, in certificate order; one line reads better in metadata. */
function distinguishedName(text: string): string {
  return text.split('\n').filter(Boolean).join(', ');
}

/**
 * Node joins names with `, ` and JSON-quotes any value that could be confused with that separator, so the
 * text is split outside quotes and quoted values are unquoted.
 */
export function splitSubjectAltNames(text: string | undefined): string[] {
  if (!text) return [];
  const names: string[] = [];
  for (const [, type, value] of text.matchAll(/(?:^|, )([^:,]+):("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
    names.push(`${type}:${value!.startsWith('"') ? (JSON.parse(value!) as string) : value}`);
  }
  return names;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

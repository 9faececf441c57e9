/**
 * Real TLS certificates for the specs of this folder, made with the `openssl` CLI in a temporary directory.
 * Only specs import this file (the build excludes `*.spec-helper.ts`).
 *
 * Every validity period is explicit so that the specs do not depend on the wall clock: they pass
 * `FIXTURE_NOW` as `now`. The OpenSSL here (3.0) has no `-not_before`/`-not_after` on `x509`/`req` (see
 * `openssl x509 -help`): those count `-days` from the current time, and a negative `-days` only yields a
 * certificate whose notAfter precedes its notBefore. `faketime` is not installed either. `openssl ca` has
 * long taken `-startdate`/`-enddate`, so every certificate (the self-signed CAs too, via `-selfsign`)
 * is issued with it; it needs the small configuration and index file written into the temp dir.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The `now` of the specs: inside the validity of every valid fixture. */
export const FIXTURE_NOW = '2030-06-15T12:00:00.000Z';
/** Validity of the valid leaf. */
export const LEAF_NOT_BEFORE = '2020-01-01T00:00:00.000Z';
export const LEAF_NOT_AFTER = '2040-01-01T00:00:00.000Z';
export const LEAF_SANS = ['DNS:app.example.com', 'DNS:www.app.example.com', 'IP Address:127.0.0.1'];

/** PEM texts; keys are unencrypted PKCS#8 unless said otherwise. */
export interface TlsFixtures {
  readonly rootCa: string;
  readonly intermediateCa: string;
  /** Leaf (RSA) for app.example.com, issued by the intermediate, valid 2020–2040. */
  readonly leaf: string;
  readonly leafKey: string;
  /** `leafKey` encrypted with AES-256 under the passphrase `secret`. */
  readonly leafKeyEncrypted: string;
  /** Same key and issuer as `leaf`, valid 2020–2021. */
  readonly expiredLeaf: string;
  /** Same key and issuer as `leaf`, valid 2035–2036. */
  readonly notYetValidLeaf: string;
  /** An RSA key belonging to no certificate here. */
  readonly otherKey: string;
  /** A self-signed CA that issued nothing here. */
  readonly unrelatedCa: string;
  /** A CA with the intermediate's name but another key: what a forged chain would present. */
  readonly impostorIntermediateCa: string;
}

const CA_CONFIG = `
[ ca ]
default_ca = fixture_ca
[ fixture_ca ]
database = index.txt
new_certs_dir = issued
# Required by \`openssl ca\` even though -rand_serial never reads it.
serial = serial
default_md = sha256
policy = any_name
unique_subject = no
email_in_dn = no
[ any_name ]
commonName = supplied
organizationName = optional
[ ca_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ leaf_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:app.example.com, DNS:www.app.example.com, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

/** How `Openssl.issue` signs: extensions section of `CA_CONFIG`, validity, key file when not the cert's name. */
interface Issuance {
  readonly ext: string;
  readonly from: string;
  readonly to: string;
  readonly key?: string;
}

/** Runs `openssl` in one directory and reads the files it writes. */
class Openssl {
  constructor(private readonly dir: string) {
    writeFileSync(join(dir, 'ca.cnf'), CA_CONFIG);
    writeFileSync(join(dir, 'index.txt'), '');
    mkdirSync(join(dir, 'issued'));
  }

  run(args: string[]): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'] });
  }

  read(file: string): string {
    return readFileSync(join(this.dir, file), 'utf8');
  }

  /** Writes `<name>.key`: RSA for leaves (the common case), EC P-256 for CAs (fast). */
  key(name: string, type: 'rsa' | 'ec'): void {
    const opt =
      type === 'rsa'
        ? ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']
        : ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'];
    this.run(['genpkey', ...opt, '-out', `${name}.key`]);
  }

  /**
   * Writes `<name>.pem` for `subject`, signed by CA `issuer` (`<issuer>.pem` and `.key`) or self-signed, for
   * key `<key>.key` (default `<name>.key`), valid between two `YYYYMMDDHHMMSSZ` times.
   */
  issue(name: string, subject: string, issuer: string | null, how: Issuance): void {
    const key = how.key ?? name;
    // File names never contain spaces, so splitting is safe; the subject, which does, is passed apart.
    this.run([...`req -new -key ${key}.key -out ${name}.csr`.split(' '), '-subj', subject]);
    const signer = issuer ? `-cert ${issuer}.pem -keyfile ${issuer}.key` : `-selfsign -keyfile ${key}.key`;
    const ca = `ca -batch -config ca.cnf -rand_serial -notext ${signer} -in ${name}.csr -out ${name}.pem`;
    this.run([...ca.split(' '), '-extensions', how.ext, '-startdate', how.from, '-enddate', how.to]);
  }
}

/** Generates every fixture (about a second: two RSA keys) and removes the temp dir. */
export function createTlsFixtures(): TlsFixtures {
  const dir = mkdtempSync(join(tmpdir(), 'pier-tls-fixtures-'));
  try {
    return generate(new Openssl(dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function generate(ssl: Openssl): TlsFixtures {
  for (const name of ['root', 'intermediate', 'unrelated', 'impostor']) ssl.key(name, 'ec');
  for (const name of ['leaf', 'other']) ssl.key(name, 'rsa');
  const ca: Issuance = { ext: 'ca_ext', from: '20190101000000Z', to: '20491231235959Z' };
  ssl.issue('root', '/CN=Pier Fixture Root CA', null, ca);
  ssl.issue('unrelated', '/CN=Unrelated CA', null, ca);
  ssl.issue('intermediate', '/CN=Pier Fixture Intermediate CA', 'root', ca);
  ssl.issue('impostor', '/CN=Pier Fixture Intermediate CA', 'root', ca);
  const leaf = { ext: 'leaf_ext', key: 'leaf' };
  const subject = '/CN=app.example.com/O=Pier Fixtures';
  ssl.issue('leaf', subject, 'intermediate', { ...leaf, from: '20200101000000Z', to: '20400101000000Z' });
  ssl.issue('expired', subject, 'intermediate', { ...leaf, from: '20200101000000Z', to: '20210101000000Z' });
  ssl.issue('future', subject, 'intermediate', { ...leaf, from: '20350101000000Z', to: '20360101000000Z' });
  ssl.run(['pkey', '-in', 'leaf.key', '-aes256', '-passout', 'pass:secret', '-out', 'leaf-encrypted.key']);
  return {
    rootCa: ssl.read('root.pem'),
    intermediateCa: ssl.read('intermediate.pem'),
    leaf: ssl.read('leaf.pem'),
    leafKey: ssl.read('leaf.key'),
    leafKeyEncrypted: ssl.read('leaf-encrypted.key'),
    expiredLeaf: ssl.read('expired.pem'),
    notYetValidLeaf: ssl.read('future.pem'),
    otherKey: ssl.read('other.key'),
    unrelatedCa: ssl.read('unrelated.pem'),
    impostorIntermediateCa: ssl.read('impostor.pem'),
  };
}

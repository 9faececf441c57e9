import { randomBytes, scrypt, type ScryptOptions, timingSafeEqual } from 'node:crypto';
import { type PasswordHasher } from '../../application/ports';

const KEY_LENGTH = 32;
/** OWASP's scrypt floor (N=2^17, r=8, p=1) costs ~128 MiB and ~0.3 s a hash here; 2^15 keeps a login near 80 ms. */
const DEFAULTS = { logN: 15, r: 8, p: 1 };

function derive(password: string, salt: Buffer, logN: number, r: number, p: number): Promise<Buffer> {
  const options: ScryptOptions = { N: 2 ** logN, r, p, maxmem: 256 * 1024 * 1024 };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, options, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

/** Memory-hard password hashes: `scrypt$<logN>$<r>$<p>$<salt>$<hash>` (base64url), parameters kept per hash. */
export class ScryptPasswordHasher implements PasswordHasher {
  constructor(private readonly params = DEFAULTS) {}

  async hash(password: string): Promise<string> {
    const salt = randomBytes(16);
    const { logN, r, p } = this.params;
    const key = await derive(password, salt, logN, r, p);
    return ['scrypt', logN, r, p, salt.toString('base64url'), key.toString('base64url')].join('$');
  }

  async verify(password: string, stored: string): Promise<boolean> {
    const [scheme, logN, r, p, salt, hash] = stored.split('$');
    if (scheme !== 'scrypt' || !salt || !hash) return false;
    const expected = Buffer.from(hash, 'base64url');
    const key = await derive(password, Buffer.from(salt, 'base64url'), Number(logN), Number(r), Number(p));
    return key.length === expected.length && timingSafeEqual(key, expected);
  }
}

import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
/** 96-bit nonces are GCM's native size; random ones are safe far beyond the number of secrets Pier stores. */
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_PATTERN = /^[0-9a-f]{8}$/;
const BASE64URL_PATTERN = /^[A-Za-z0-9_-]*$/;
const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const BASE64_KEY = /^[A-Za-z0-9+/]{43}=?$/;
const BASE64URL_KEY = /^[A-Za-z0-9_-]{43}=?$/;
const KEY_FORMATS =
  'a secrets key must be 32 bytes encoded as base64 (44 characters), base64url (43 characters) or hex ' +
  '(64 characters); generate one with `openssl rand -base64 32`';

/** Why a decryption failed; the message never contains the value or the key. */
export type SecretDecryptFailure = 'malformed' | 'unknown-key' | 'rejected';

/**
 * A ciphertext that cannot be decrypted: malformed envelope, unknown key id, or GCM authentication failed
 * (wrong associated data, tampering, or a key with a colliding id).
 */
export class SecretDecryptError extends Error {
  override readonly name = 'SecretDecryptError';

  constructor(
    readonly reason: SecretDecryptFailure,
    message: string,
  ) {
    super(message);
  }
}

/** The parts of a `v1` envelope, decoded. */
interface Envelope {
  readonly keyId: string;
  readonly iv: Buffer;
  readonly ciphertext: Buffer;
  readonly tag: Buffer;
}

/**
 * AES-256-GCM envelope encryption of secret values at rest.
 *
 * An envelope is `v1.<keyId>.<iv>.<ciphertext>.<tag>` (base64url parts). The key id lets a rotated service
 * decrypt values written under a previous key while it encrypts new ones under the current key only. The
 * associated data (e.g. `space/name`) is authenticated but not stored, so a ciphertext copied into another
 * secret fails to decrypt there.
 */
export class SecretCipher {
  private readonly currentId: string;
  private readonly keys = new Map<string, Buffer>();

  /** Every key must be exactly 32 bytes; `previous` keys only decrypt. */
  constructor(keys: { current: Buffer; previous?: Buffer[] }) {
    this.currentId = this.addKey(keys.current, 'the current secrets key');
    (keys.previous ?? []).forEach((key, i) => this.addKey(key, `previous secrets key #${i + 1}`));
  }

  /** First 8 hex characters of the SHA-256 of the key: identifies it without revealing it. */
  static keyId(key: Buffer): string {
    return createHash('sha256').update(key).digest('hex').slice(0, 8);
  }

  /**
   * Reads a key as configured (PIER_SECRETS_KEY): 32 bytes as base64, base64url or 64 hex characters.
   * Surrounding whitespace is ignored; the error never echoes the text, which may be a near-miss of the key.
   */
  static parseKey(text: string): Buffer {
    const trimmed = text.trim();
    let key: Buffer | null = null;
    if (HEX_KEY.test(trimmed)) key = Buffer.from(trimmed, 'hex');
    else if (BASE64_KEY.test(trimmed)) key = Buffer.from(trimmed, 'base64');
    else if (BASE64URL_KEY.test(trimmed)) key = Buffer.from(trimmed, 'base64url');
    if (!key || key.length !== KEY_BYTES) throw new Error(KEY_FORMATS);
    return key;
  }

  /** Id of the key new values are encrypted with; an envelope under another id is due for re-encryption. */
  get currentKeyId(): string {
    return this.currentId;
  }

  /** Encrypts under the current key with a fresh random IV, so equal values give different envelopes. */
  encrypt(plaintext: string, associatedData: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.keys.get(this.currentId)!, iv, {
      authTagLength: TAG_BYTES,
    });
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const parts = [iv, ciphertext, cipher.getAuthTag()].map((part) => part.toString('base64url'));
    return [VERSION, this.currentId, ...parts].join('.');
  }

  /**
   * Decrypts an envelope with the current or a previous key, chosen by its key id.
   * @throws SecretDecryptError when the envelope is malformed, its key is unknown, or authentication fails.
   */
  decrypt(envelope: string, associatedData: string): string {
    const { keyId, iv, ciphertext, tag } = parseEnvelope(envelope);
    const key = this.keys.get(keyId);
    if (!key) {
      throw new SecretDecryptError(
        'unknown-key',
        `the secret was encrypted with key ${keyId}, which is not configured`,
      );
    }
    const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(associatedData, 'utf8'));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretDecryptError(
        'rejected',
        'the secret failed authentication: it belongs to another secret or was tampered with',
      );
    }
  }

  /** Registers a key under its id; refuses a wrong size and (astronomically unlikely) id collisions. */
  private addKey(key: Buffer, label: string): string {
    if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) {
      throw new Error(
        `${label} must be exactly ${KEY_BYTES} bytes, got ${Buffer.isBuffer(key) ? key.length : 'none'}`,
      );
    }
    const id = SecretCipher.keyId(key);
    const known = this.keys.get(id);
    if (known && !known.equals(key)) throw new Error(`${label} has the same key id ${id} as another key`);
    // A copy, so that a caller zeroing or reusing its buffer cannot change the key under us.
    if (!known) this.keys.set(id, Buffer.from(key));
    return id;
  }
}

/** Splits and decodes an envelope; every part must be canonical so that no character can change silently. */
function parseEnvelope(envelope: string): Envelope {
  const parts = typeof envelope === 'string' ? envelope.split('.') : [];
  if (parts.length !== 5 || parts[0] !== VERSION)
    throw malformed(`expected ${VERSION}.<keyId>.<iv>.<ciphertext>.<tag>`);
  const [, keyId, iv, ciphertext, tag] = parts as [string, string, string, string, string];
  if (!KEY_ID_PATTERN.test(keyId)) throw malformed('the key id must be 8 hex characters');
  const decoded = {
    iv: decodeBase64Url(iv),
    ciphertext: decodeBase64Url(ciphertext),
    tag: decodeBase64Url(tag),
  };
  if (!decoded.iv || decoded.iv.length !== IV_BYTES) throw malformed(`the IV must be ${IV_BYTES} bytes`);
  if (!decoded.tag || decoded.tag.length !== TAG_BYTES) throw malformed(`the tag must be ${TAG_BYTES} bytes`);
  if (!decoded.ciphertext) throw malformed('the ciphertext is not base64url');
  return { keyId, iv: decoded.iv, ciphertext: decoded.ciphertext, tag: decoded.tag };
}

/**
 * Strict base64url: Node's decoder skips invalid characters and ignores the unused low bits of the last
 * character, so without the round-trip check a changed character could decode to the same bytes.
 */
function decodeBase64Url(text: string): Buffer | null {
  if (!BASE64URL_PATTERN.test(text)) return null;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : null;
}

function malformed(detail: string): SecretDecryptError {
  return new SecretDecryptError('malformed', `the secret envelope is malformed: ${detail}`);
}

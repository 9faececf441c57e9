import { createHash, randomBytes } from 'node:crypto';
import { SecretCipher, SecretDecryptError, type SecretDecryptFailure } from './secret-cipher';

const AAD = 'acme/db-password';

function expectDecryptFailure(action: () => unknown, reason?: SecretDecryptFailure): void {
  let error: unknown;
  try {
    action();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(SecretDecryptError);
  if (reason) expect((error as SecretDecryptError).reason).toBe(reason);
}

/** Replaces the character at `index` with another one of the same alphabet. */
function changeCharAt(text: string, index: number): string {
  const c = text[index]!;
  const replacement = /[0-9]/.test(c) ? (c === '0' ? '1' : '0') : c === 'a' ? 'b' : 'a';
  return text.slice(0, index) + replacement + text.slice(index + 1);
}

describe('SecretCipher', () => {
  const key = randomBytes(32);
  const cipher = new SecretCipher({ current: key });

  it('decrypts what it encrypts', () => {
    for (const plaintext of [
      '',
      's3cr3t',
      '{"kind":"generic","data":{"A":"b"}}',
      'ünïcødé ✓ 🔑',
      'x'.repeat(300_000),
    ]) {
      expect(cipher.decrypt(cipher.encrypt(plaintext, AAD), AAD)).toBe(plaintext);
    }
  });

  it('writes v1.<keyId>.<iv>.<ciphertext>.<tag> with a 12-byte IV and a 16-byte tag', () => {
    const envelope = cipher.encrypt('hello', AAD);
    const keyId = createHash('sha256').update(key).digest('hex').slice(0, 8);
    expect(SecretCipher.keyId(key)).toBe(keyId);
    expect(cipher.currentKeyId).toBe(keyId);
    const [version, id, iv, ciphertext, tag] = envelope.split('.');
    expect([version, id]).toEqual(['v1', keyId]);
    expect(Buffer.from(iv!, 'base64url')).toHaveLength(12);
    expect(Buffer.from(ciphertext!, 'base64url')).toHaveLength(5);
    expect(Buffer.from(tag!, 'base64url')).toHaveLength(16);
    expect(envelope).not.toContain('hello');
  });

  it('gives a different envelope each time for the same value', () => {
    const first = cipher.encrypt('same value', AAD);
    const second = cipher.encrypt('same value', AAD);
    expect(first).not.toBe(second);
    expect(first.split('.')[2]).not.toBe(second.split('.')[2]);
  });

  it('binds the envelope to its associated data', () => {
    const envelope = cipher.encrypt('s3cr3t', AAD);
    expectDecryptFailure(() => cipher.decrypt(envelope, 'acme/other'), 'rejected');
    expectDecryptFailure(() => cipher.decrypt(envelope, 'other/db-password'), 'rejected');
    expectDecryptFailure(() => cipher.decrypt(envelope, ''), 'rejected');
  });

  it('fails when any part is tampered with', () => {
    const envelope = cipher.encrypt('s3cr3t value', AAD);
    const parts = envelope.split('.');
    const tampered = (index: number, value: string): string =>
      parts.map((p, i) => (i === index ? value : p)).join('.');
    expectDecryptFailure(() => cipher.decrypt(tampered(0, 'v2'), AAD), 'malformed');
    expectDecryptFailure(() => cipher.decrypt(tampered(1, changeCharAt(parts[1]!, 0)), AAD), 'unknown-key');
    for (const index of [2, 3, 4]) {
      expectDecryptFailure(
        () => cipher.decrypt(tampered(index, changeCharAt(parts[index]!, 0)), AAD),
        'rejected',
      );
    }
  });

  it('fails whichever single character is changed, including unused bits of the last base64url character', () => {
    const envelope = cipher.encrypt('s3cr3t value', AAD);
    for (let i = 0; i < envelope.length; i++) {
      if (envelope[i] === '.') continue;
      expectDecryptFailure(() => cipher.decrypt(changeCharAt(envelope, i), AAD));
    }
    // The tag's 22nd character carries 4 data bits and 2 unused ones: flipping only the latter is caught too.
    const tag = envelope.split('.')[4]!;
    const last = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = last[last.indexOf(tag.at(-1)!) ^ 1]!;
    expectDecryptFailure(() => cipher.decrypt(envelope.slice(0, -1) + sibling, AAD), 'malformed');
  });

  it('refuses malformed envelopes', () => {
    const envelope = cipher.encrypt('s3cr3t', AAD);
    const [, id, iv, ciphertext, tag] = envelope.split('.');
    for (const bad of [
      '',
      'v1',
      envelope.split('.').slice(0, 4).join('.'),
      `${envelope}.extra`,
      `v1.${id}.${iv}.${ciphertext}.${tag!.slice(0, 20)}`,
      `v1.${id}.${iv!.slice(0, 8)}.${ciphertext}.${tag}`,
      `v1.${id!.toUpperCase()}X.${iv}.${ciphertext}.${tag}`,
      `v1.${id}.${iv}.${ciphertext}+/.${tag}`,
    ]) {
      expectDecryptFailure(() => cipher.decrypt(bad, AAD), 'malformed');
    }
  });

  describe('key rotation', () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const before = new SecretCipher({ current: oldKey });
    const after = new SecretCipher({ current: newKey, previous: [oldKey] });

    it('decrypts a value encrypted under a previous key', () => {
      const envelope = before.encrypt('rotated', AAD);
      expect(after.decrypt(envelope, AAD)).toBe('rotated');
    });

    it('encrypts under the current key only', () => {
      const envelope = after.encrypt('fresh', AAD);
      expect(envelope.split('.')[1]).toBe(SecretCipher.keyId(newKey));
      expect(new SecretCipher({ current: newKey }).decrypt(envelope, AAD)).toBe('fresh');
      expectDecryptFailure(() => before.decrypt(envelope, AAD), 'unknown-key');
    });

    it('fails on a key id it does not know, naming the id but not the key', () => {
      const envelope = before.encrypt('rotated', AAD);
      const without = new SecretCipher({ current: newKey });
      expectDecryptFailure(() => without.decrypt(envelope, AAD), 'unknown-key');
      expect(() => without.decrypt(envelope, AAD)).toThrow(SecretCipher.keyId(oldKey));
    });

    it('tolerates the current key listed among the previous ones', () => {
      const both = new SecretCipher({ current: newKey, previous: [newKey, oldKey, oldKey] });
      expect(both.decrypt(before.encrypt('x', AAD), AAD)).toBe('x');
      expect(both.currentKeyId).toBe(SecretCipher.keyId(newKey));
    });
  });

  it('requires keys of exactly 32 bytes', () => {
    expect(() => new SecretCipher({ current: randomBytes(31) })).toThrow(
      /current secrets key must be exactly 32 bytes, got 31/,
    );
    expect(() => new SecretCipher({ current: randomBytes(33) })).toThrow(/32 bytes/);
    expect(() => new SecretCipher({ current: key, previous: [key, randomBytes(16)] })).toThrow(
      /previous secrets key #2 must be exactly 32 bytes, got 16/,
    );
  });

  it('keeps its own copy of the keys', () => {
    const mutable = Buffer.from(key);
    const own = new SecretCipher({ current: mutable });
    const envelope = own.encrypt('x', AAD);
    mutable.fill(0);
    expect(own.decrypt(envelope, AAD)).toBe('x');
  });

  describe('parseKey', () => {
    const bytes = randomBytes(32);

    it('reads 32 bytes as hex, base64 or base64url', () => {
      expect(SecretCipher.parseKey(bytes.toString('hex'))).toEqual(bytes);
      expect(SecretCipher.parseKey(bytes.toString('hex').toUpperCase())).toEqual(bytes);
      expect(SecretCipher.parseKey(bytes.toString('base64'))).toEqual(bytes);
      expect(SecretCipher.parseKey(bytes.toString('base64').replace(/=$/, ''))).toEqual(bytes);
      expect(SecretCipher.parseKey(bytes.toString('base64url'))).toEqual(bytes);
      expect(SecretCipher.parseKey(`  ${bytes.toString('base64')}\n`)).toEqual(bytes);
    });

    it('reads keys with characters specific to each base64 alphabet', () => {
      const awkward = Buffer.alloc(32, 0xfb); // encodes to `+` / `-` and `/` / `_` characters
      expect(SecretCipher.parseKey(awkward.toString('base64'))).toEqual(awkward);
      expect(SecretCipher.parseKey(awkward.toString('base64url'))).toEqual(awkward);
    });

    it('refuses anything else, naming the accepted formats without echoing the text', () => {
      for (const text of [
        '',
        'short',
        randomBytes(31).toString('base64'),
        randomBytes(33).toString('base64'),
        bytes.toString('hex').slice(1),
        `${bytes.toString('hex')}00`,
        `${bytes.toString('base64').slice(0, 20)}+_${bytes.toString('base64').slice(22)}`,
        'z'.repeat(64),
      ]) {
        let error: unknown;
        try {
          SecretCipher.parseKey(text);
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(Error);
        expect((error as Error).message).toMatch(/32 bytes.*base64.*base64url.*hex/);
        if (text.length > 8) expect((error as Error).message).not.toContain(text);
      }
    });
  });
});

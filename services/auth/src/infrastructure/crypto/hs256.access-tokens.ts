import { createHmac, timingSafeEqual } from 'node:crypto';
import { type AccessTokens } from '../../application/ports';

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
const ISSUER = 'pier';

/**
 * Short-lived access tokens as JWTs signed with HMAC-SHA256. They carry only who and which session;
 * roles are looked up on every request, so a role change or a logout takes effect at once.
 */
export class Hs256AccessTokens implements AccessTokens {
  constructor(
    private readonly key: Buffer,
    private readonly ttlSeconds: number,
  ) {
    if (key.length < 32) throw new Error('the JWT signing key must be at least 32 bytes');
  }

  issue(subject: { userId: string; sessionId: string }, now: string): { token: string; expiresIn: number } {
    const iat = Math.floor(Date.parse(now) / 1000);
    const payload = {
      iss: ISSUER,
      sub: subject.userId,
      sid: subject.sessionId,
      iat,
      exp: iat + this.ttlSeconds,
    };
    const body = `${HEADER}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    return { token: `${body}.${this.sign(body)}`, expiresIn: this.ttlSeconds };
  }

  verify(
    token: string,
    now: string,
  ): { userId: string; sessionId: string; expiresAt: string } | { problem: string } {
    const parts = token.split('.');
    if (parts.length !== 3) return { problem: 'the bearer token is malformed' };
    const [header, payload, signature] = parts as [string, string, string];
    if (header !== HEADER) return { problem: 'the bearer token is malformed' };
    const expected = Buffer.from(this.sign(`${header}.${payload}`));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given))
      return { problem: 'the bearer token signature is invalid' };
    let claims: { iss?: unknown; sub?: unknown; sid?: unknown; exp?: unknown };
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as typeof claims;
    } catch {
      return { problem: 'the bearer token is malformed' };
    }
    if (
      claims.iss !== ISSUER ||
      typeof claims.sub !== 'string' ||
      typeof claims.sid !== 'string' ||
      typeof claims.exp !== 'number'
    ) {
      return { problem: 'the bearer token is malformed' };
    }
    if (claims.exp <= Date.parse(now) / 1000) return { problem: 'the access token has expired; refresh it' };
    return {
      userId: claims.sub,
      sessionId: claims.sid,
      expiresAt: new Date(claims.exp * 1000).toISOString(),
    };
  }

  private sign(data: string): string {
    return createHmac('sha256', this.key).update(data).digest('base64url');
  }
}

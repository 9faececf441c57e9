import { createHash, randomBytes } from 'node:crypto';
import { type Cause } from '@pier/contracts';
import { type CommandContext } from '../domain/clock';

/** The domain's view of an incoming call: who and why, and the time, read once, here. */
export function commandContext(cause: Cause): CommandContext {
  return {
    cause: { messageId: cause.messageId, correlationId: cause.correlationId, actor: cause.actor },
    now: new Date().toISOString(),
  };
}

/** A new random secret, URL-safe, 256 bits. */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

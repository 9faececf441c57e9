import { type Cause } from '@pier/contracts';
import { type CommandContext } from '../domain/clock';

/** The domain's view of an incoming call: who and why, and the time, read once, here. */
export function commandContext(cause: Cause): CommandContext {
  return {
    cause: { messageId: cause.messageId, correlationId: cause.correlationId, actor: cause.actor },
    now: new Date().toISOString(),
  };
}

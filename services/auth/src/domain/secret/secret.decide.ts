import { createMessage, PierError, SecretDeleted, type SecretEvent, SecretStored } from '@pier/contracts';
import { type CommandContext } from '../clock';
import { type SecretState } from './secret.state';

/** Stores a new secret (`create`) or a new value of an existing one (`replace`). */
export function storeSecret(
  state: SecretState | null,
  cmd: {
    space: string;
    name: string;
    mode: 'create' | 'replace';
    kind: 'generic' | 'registry' | 'tls';
    ciphertext: string;
    metadata: Record<string, unknown>;
  },
  ctx: CommandContext,
): SecretEvent[] {
  const exists = !!state && !state.deleted;
  if (cmd.mode === 'create' && exists) {
    throw new PierError('SECRET_NAME_TAKEN', `secret ${cmd.name} already exists in ${cmd.space}`, {
      name: cmd.name,
    });
  }
  if (cmd.mode === 'replace' && !exists) {
    throw new PierError('SECRET_NOT_FOUND', `secret ${cmd.name} does not exist in ${cmd.space}`, {
      name: cmd.name,
    });
  }
  const { mode: _mode, ...data } = cmd;
  return [createMessage(SecretStored, data, ctx.cause, ctx.now)];
}

export function deleteSecret(
  state: SecretState | null,
  cmd: { space: string; name: string },
  ctx: CommandContext,
): SecretEvent[] {
  if (!state || state.deleted) {
    throw new PierError('SECRET_NOT_FOUND', `secret ${cmd.name} does not exist in ${cmd.space}`, {
      name: cmd.name,
    });
  }
  return [createMessage(SecretDeleted, { space: cmd.space, name: cmd.name }, ctx.cause, ctx.now)];
}

import { timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { type Cause, type ErrorCode, PierError, type SecretView } from '@pier/contracts';
import { execute } from '@pier/eventstore';
import { nodeNeedsSecret } from '../../domain/secret/node-secret-use';
import { deleteSecret, storeSecret } from '../../domain/secret/secret.decide';
import { evolveSecret, secretId } from '../../domain/secret/secret.state';
import { type SecretCipher } from '../../domain/secrets/secret-cipher';
import { describeSecret, secretValueSchema } from '../../domain/secrets/secret-values';
import { TlsBundleError } from '../../domain/secrets/tls-bundle';
import { commandContext, sha256 } from '../command-context';
import {
  AUTH_SETTINGS,
  type AuthSettings,
  NODE_AUTHENTICATOR,
  NODE_SECRET_USE,
  type NodeAuthenticator,
  type NodeSecretUseRepository,
  READ_MODEL,
  READ_MODEL_SYNC,
  type ReadModelSync,
  SECRET_CIPHER,
  SECRETS,
  type SecretRepository,
  type TenancyReadModel,
} from '../ports';

type Caller = { kind: 'service'; token: string } | { kind: 'node'; nodeId: string; credential: string };

/**
 * Space secrets. Values are validated, encrypted with AES-256-GCM bound to `space/name`, and stored only
 * as ciphertext in the event; the API shows metadata only. Platform services and node agents get a value
 * back through `reveal`, after proving who they are.
 */
@Injectable()
export class SecretsHandler {
  constructor(
    @Inject(SECRETS) private readonly secrets: SecretRepository,
    @Inject(SECRET_CIPHER) private readonly cipher: SecretCipher,
    @Inject(READ_MODEL) private readonly readModel: TenancyReadModel,
    @Inject(READ_MODEL_SYNC) private readonly sync: ReadModelSync,
    @Inject(NODE_AUTHENTICATOR) private readonly nodes: NodeAuthenticator,
    @Inject(AUTH_SETTINGS) private readonly settings: AuthSettings,
    @Inject(NODE_SECRET_USE) private readonly nodeUse: NodeSecretUseRepository,
  ) {}

  async store(
    cmd: { space: string; name: string; mode: 'create' | 'replace'; value: unknown },
    cause: Cause,
  ): Promise<SecretView> {
    const ctx = commandContext(cause);
    if (!(await this.readModel.space(cmd.space)))
      throw new PierError('SPACE_NOT_FOUND', `space ${cmd.space} does not exist`);
    const parsed = secretValueSchema.safeParse(cmd.value);
    if (!parsed.success) {
      throw new PierError('SECRET_INVALID', 'the secret value is not valid for its kind', {
        issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      });
    }
    let metadata: Record<string, unknown>;
    try {
      metadata = { ...describeSecret(parsed.data, ctx.now) };
    } catch (error) {
      if (error instanceof TlsBundleError) throw new PierError(error.code as ErrorCode, error.message);
      throw error;
    }
    const ciphertext = this.cipher.encrypt(JSON.stringify(parsed.data), `${cmd.space}/${cmd.name}`);
    const { version } = await execute(
      this.secrets,
      secretId(cmd.space, cmd.name),
      (s) =>
        storeSecret(
          s,
          { space: cmd.space, name: cmd.name, mode: cmd.mode, kind: parsed.data.kind, ciphertext, metadata },
          ctx,
        ),
      evolveSecret,
    );
    await this.sync.waitFor(version);
    return (await this.readModel.secret(cmd.space, cmd.name))!;
  }

  async delete(cmd: { space: string; name: string }, cause: Cause): Promise<{ space: string; name: string }> {
    const ctx = commandContext(cause);
    const { version } = await execute(
      this.secrets,
      secretId(cmd.space, cmd.name),
      (s) => deleteSecret(s, cmd, ctx),
      evolveSecret,
    );
    await this.sync.waitFor(version);
    return cmd;
  }

  async reveal(cmd: { space: string; name: string; caller: Caller }): Promise<{ value: unknown }> {
    await this.authenticateCaller(cmd.caller);
    if (cmd.caller.kind === 'node') {
      // Read from the node's assignment subject, which the agent itself follows: by the time it asks,
      // the assignment it asks for is stored there.
      const { state } = await this.nodeUse.load(cmd.caller.nodeId);
      if (!nodeNeedsSecret(state, cmd.space, cmd.name))
        throw new PierError('FORBIDDEN', 'a node reads only the secrets of the instances assigned to it');
    }
    const { state } = await this.secrets.load(secretId(cmd.space, cmd.name));
    if (!state || state.deleted)
      throw new PierError('SECRET_NOT_FOUND', `secret ${cmd.name} does not exist in ${cmd.space}`);
    return {
      value: JSON.parse(this.cipher.decrypt(state.ciphertext, `${cmd.space}/${cmd.name}`)) as unknown,
    };
  }

  private async authenticateCaller(caller: Caller): Promise<void> {
    if (caller.kind === 'service') {
      const given = Buffer.from(sha256(caller.token));
      const expected = Buffer.from(sha256(this.settings.internalToken));
      if (timingSafeEqual(given, expected)) return;
    } else if (await this.nodes.authenticate(caller.nodeId, caller.credential)) {
      return;
    }
    throw new PierError('FORBIDDEN', 'only platform services and node agents may read secret values');
  }
}

import { PierError } from '@pier/contracts';
import { type Logger } from '@pier/observability';
import { type Assignment, LABELS } from '../../domain/container-labels';
import {
  containerSpec,
  credentialsApply,
  registryOf,
  requestedSecurityOptions,
  resolveEnv,
} from '../../domain/container-spec';
import {
  type ContainerDriver,
  type ContainerState,
  type PlatformServices,
  type RegistryAuth,
} from '../ports';

/** Stable codes of `InstanceFailed` reported by the agent. */
export type LaunchFailureCode =
  'IMAGE_PULL_FAILED' | 'SECRET_UNAVAILABLE' | 'CONTAINER_START_FAILED' | 'SECURITY_OPTIONS_UNSUPPORTED';

export type LaunchResult =
  | { readonly ok: true; readonly container: ContainerState }
  | { readonly ok: false; readonly code: LaunchFailureCode; readonly reason: string };

type Step<T> = { ok: true; value: T } | { ok: false; code: LaunchFailureCode; reason: string };

/**
 * Gets one container of an instance running: the image (pulled with the registry secret when missing),
 * the environment (secrets revealed as this node), then create and start. Every way this can fail is a
 * result with a stable code, never an exception: failures are facts about the instance.
 */
export class ContainerLauncher {
  constructor(
    private readonly driver: ContainerDriver,
    private readonly platform: PlatformServices,
    private readonly publishHost: string,
    private readonly logger: Logger,
  ) {}

  async launch(assignment: Assignment, restarts: number): Promise<LaunchResult> {
    const security = requestedSecurityOptions(assignment.spec.security);
    if (security.length > 0) {
      const reason = `this agent cannot apply the security options ${security.join(', ')} yet`;
      return { ok: false, code: 'SECURITY_OPTIONS_UNSUPPORTED', reason };
    }
    const image = await this.ensureImage(assignment);
    if (!image.ok) return image;
    const env = await this.environment(assignment);
    if (!env.ok) return env;
    try {
      await this.removeLeftovers(assignment);
      const spec = containerSpec(assignment, { restarts, env: env.value, publishHost: this.publishHost });
      return { ok: true, container: await this.driver.start(spec) };
    } catch (error) {
      return { ok: false, code: 'CONTAINER_START_FAILED', reason: (error as Error).message };
    }
  }

  private async ensureImage(assignment: Assignment): Promise<Step<void>> {
    const { image, registrySecret } = assignment.spec;
    const failed = (reason: string): Step<void> => ({ ok: false, code: 'IMAGE_PULL_FAILED', reason });
    try {
      if (await this.driver.hasImage(image)) return { ok: true, value: undefined };
    } catch (error) {
      return failed(`cannot look up ${image}: ${(error as Error).message}`);
    }
    let auth: RegistryAuth | undefined;
    let note = '';
    if (registrySecret) {
      const revealed = await this.registryAuth(assignment.space, registrySecret);
      if (!revealed.ok) return revealed;
      if (credentialsApply(revealed.value.server, image)) auth = revealed.value;
      else
        note = ` (registry secret "${registrySecret}" is for ${revealed.value.server}, not ${registryOf(image)}: not sent)`;
    }
    try {
      this.logger.info({ image, withCredentials: !!auth }, 'pulling image');
      await this.driver.pullImage(image, auth);
      return { ok: true, value: undefined };
    } catch (error) {
      return failed(`pulling ${image} failed: ${(error as Error).message}${note}`);
    }
  }

  private async registryAuth(space: string, name: string): Promise<Step<RegistryAuth>> {
    const unavailable = (why: string): Step<RegistryAuth> => ({
      ok: false,
      code: 'SECRET_UNAVAILABLE',
      reason: `registry secret "${name}" ${why}`,
    });
    let value: unknown;
    try {
      value = await this.platform.revealSecret(space, name);
    } catch (error) {
      return unavailable(`cannot be read: ${describe(error)}`);
    }
    const v = value as Partial<RegistryAuth> & { kind?: unknown };
    if (v?.kind !== 'registry' || !v.server || !v.username || typeof v.password !== 'string') {
      return unavailable('is not a registry secret');
    }
    return { ok: true, value: { server: v.server, username: v.username, password: v.password } };
  }

  private async environment(assignment: Assignment): Promise<Step<Record<string, string>>> {
    const { env, secretEnv } = assignment.spec;
    const revealed = new Map<string, unknown>();
    const problems: string[] = [];
    for (const name of new Set(Object.values(secretEnv).map((ref) => ref.secret))) {
      try {
        revealed.set(name, await this.platform.revealSecret(assignment.space, name));
      } catch (error) {
        problems.push(`secret "${name}" cannot be read: ${describe(error)}`);
      }
    }
    const resolved = resolveEnv(env, secretEnv, revealed);
    if (resolved.ok) return { ok: true, value: resolved.env };
    return { ok: false, code: 'SECRET_UNAVAILABLE', reason: [resolved.reason, ...problems].join('; ') };
  }

  /** Containers of this instance that are still there (a restart's old one, a crash's leftover). */
  private async removeLeftovers(assignment: Assignment): Promise<void> {
    const old = await this.driver.list({
      [LABELS.node]: assignment.nodeId,
      [LABELS.instance]: assignment.instanceId,
    });
    for (const c of old) await this.driver.destroy(c.id);
  }
}

function describe(error: unknown): string {
  return error instanceof PierError ? `${error.code}: ${error.message}` : (error as Error).message;
}

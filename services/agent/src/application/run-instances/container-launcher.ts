import { PierError } from '@pier/contracts';
import { type Logger } from '@pier/observability';
import { type Assignment, LABELS } from '../../domain/container-labels';
import { DEFAULT_CONTAINER_LIMITS, type NodeContainerLimits } from '../../domain/container-hardening';
import {
  containerSpec,
  credentialsApply,
  registryOf,
  requestedSecurityOptions,
  resolveEnv,
} from '../../domain/container-spec';
import {
  classifyRegistryError,
  decideAfterFailedPull,
  decideWithoutCredentials,
  type ImageDecision,
  type LocalImage,
  needsAnonymousCheck,
} from '../../domain/image-access';
import {
  type ContainerDriver,
  type ContainerState,
  EngineUnreachableError,
  type PlatformServices,
  type RegistryAuth,
} from '../ports';

/** Stable codes of `InstanceFailed` reported by the agent. */
export type LaunchFailureCode =
  | 'IMAGE_PULL_FAILED'
  | 'SECRET_UNAVAILABLE'
  | 'CONTAINER_START_FAILED'
  | 'SECURITY_OPTIONS_UNSUPPORTED'
  | 'ENGINE_UNAVAILABLE';

export type LaunchResult =
  | { readonly ok: true; readonly container: ContainerState }
  | {
      readonly ok: false;
      readonly code: LaunchFailureCode;
      readonly reason: string;
      /** The engine did not answer the start (see `EngineUnreachableError`): retried soon, no back-off. */
      readonly engineUnreachable?: true;
    };

type Step<T> = { ok: true; value: T } | { ok: false; code: LaunchFailureCode; reason: string };

/**
 * Gets one container of an instance running: the image (its registry's access re-checked, see
 * `ensureImage`), the environment (secrets revealed as this node), then create and start on the space's
 * network with the node's limits. Every way this can fail is a
 * result with a stable code, never an exception: failures are facts about the instance.
 */
export class ContainerLauncher {
  constructor(
    private readonly driver: ContainerDriver,
    private readonly platform: PlatformServices,
    private readonly publishHost: string,
    private readonly logger: Logger,
    private readonly limits: NodeContainerLimits = DEFAULT_CONTAINER_LIMITS,
  ) {}

  /**
   * Starts a container of the assignment. `leftovers: false` says the instance has no container on the
   * engine (the reconcile pass that launched it listed none, and nothing else makes one): the engine
   * is then not asked for them again.
   */
  async launch(
    assignment: Assignment,
    restarts: number,
    options: { leftovers: boolean } = { leftovers: true },
  ): Promise<LaunchResult> {
    try {
      return await this.attempt(assignment, restarts, options.leftovers);
    } catch (error) {
      if (!(error instanceof EngineUnreachableError)) throw error;
      const reason = `the container engine did not answer: ${error.message}`;
      return { ok: false, code: 'ENGINE_UNAVAILABLE', reason, engineUnreachable: true };
    }
  }

  private async attempt(assignment: Assignment, restarts: number, leftovers: boolean): Promise<LaunchResult> {
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
      if (leftovers) await this.removeLeftovers(assignment);
      const spec = containerSpec(assignment, {
        restarts,
        env: env.value,
        publishHost: this.publishHost,
        limits: this.limits,
      });
      return { ok: true, container: await this.driver.start(spec) };
    } catch (error) {
      if (error instanceof EngineUnreachableError) throw error;
      return { ok: false, code: 'CONTAINER_START_FAILED', reason: (error as Error).message };
    }
  }

  /**
   * The image, with access re-checked against its registry at every launch: a version with credentials
   * always pulls with them (for a cached image only a manifest check), one without needs the registry's
   * anonymous yes wherever the image may be private. A cached image is no way around a registry's no.
   */
  private async ensureImage(assignment: Assignment): Promise<Step<void>> {
    const { image, registrySecret } = assignment.spec;
    const failed = (reason: string): Step<void> => ({
      ok: false,
      code: 'IMAGE_PULL_FAILED',
      reason: `pulling ${image} failed: ${reason}`,
    });
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
      const local = await this.driver.localImage(image);
      const decision = auth
        ? await this.pullWithCredentials(image, auth, local)
        : await this.decideAnonymously(image, local);
      if (decision.action === 'refuse') return failed(decision.why + note);
      if (decision.action === 'pull') {
        this.logger.info({ image, withCredentials: false }, 'pulling image');
        await this.driver.pullImage(image);
      }
      return { ok: true, value: undefined };
    } catch (error) {
      if (error instanceof EngineUnreachableError) throw error;
      return failed((error as Error).message + note);
    }
  }

  private async pullWithCredentials(
    image: string,
    auth: RegistryAuth,
    local: LocalImage | null,
  ): Promise<ImageDecision> {
    this.logger.info({ image, withCredentials: true, cached: !!local }, 'pulling image');
    try {
      await this.driver.pullImage(image, auth);
    } catch (error) {
      if (error instanceof EngineUnreachableError) throw error;
      const message = (error as Error).message;
      const decision = decideAfterFailedPull(local, classifyRegistryError(message));
      if (decision.action !== 'refuse') this.logger.warn({ image, err: error }, 'registry unavailable');
      return decision.action === 'refuse' ? { ...decision, why: `${decision.why}: ${message}` } : decision;
    }
    await this.driver.recordCredentialedPull(image);
    return { action: 'use-cached' };
  }

  private async decideAnonymously(image: string, local: LocalImage | null): Promise<ImageDecision> {
    if (!needsAnonymousCheck(image, local)) return decideWithoutCredentials(image, local, null);
    const { answer, detail } = await this.driver.anonymousAccess(image);
    const decision = decideWithoutCredentials(image, local, answer);
    return decision.action === 'refuse' && detail
      ? { ...decision, why: `${decision.why} (${detail})` }
      : decision;
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

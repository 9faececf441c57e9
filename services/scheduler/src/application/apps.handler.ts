import { Inject, Injectable } from '@nestjs/common';
import {
  APP,
  appId,
  type AppView,
  type Cause,
  type PierEvent,
  PierError,
  type VersionSpec,
  type Weights,
} from '@pier/contracts';
import { EventSourcedRepository, type EventStore, execute } from '@pier/eventstore';
import { containerSecuritySchema, enforceContainerPolicy } from '@pier/policy';
import {
  addDomain,
  createApp,
  createVersion,
  deleteVersion,
  removeDomain,
  requestDeletion,
  scaleVersion,
  setStickySessions,
  setTraffic,
} from '../domain/app/app.decide';
import { type AppState, evolveApp } from '../domain/app/app.state';
import { assertMayClaim } from '../domain/domain-name/domain-claim';
import { assertAppFits, assertInstancesFit, limits } from '../domain/quota/space-quota';
import { type RuntimeReadModel } from '../infrastructure/postgres/runtime.read-model';
import { DomainClaims } from './domains/domain-claims';
import {
  QUOTA_GATE,
  type QuotaGate,
  READ_MODEL_SYNC,
  type ReadModelSync,
  SCHEDULER_SETTINGS,
  type SchedulerSettings,
  TENANCY,
  type Tenancy,
} from './ports';
import { World } from './world';

export const EVENT_STORE = Symbol('EventStore');
export const READ_MODEL = Symbol('RuntimeReadModel');

type AppEvents = Parameters<typeof evolveApp>[1];

/** How many apps' folded states the command side keeps. */
const APP_CACHE_SIZE = 1000;

/**
 * The app API's commands. Each one answers once the read model shows its effect, so the next read (or
 * the next request of the same user) sees it.
 */
@Injectable()
export class AppsHandler {
  private readonly apps: EventSourcedRepository<AppState, AppEvents, PierEvent>;
  private readonly domains: DomainClaims;

  constructor(
    @Inject(EVENT_STORE) store: EventStore<PierEvent>,
    @Inject(READ_MODEL) private readonly readModel: RuntimeReadModel,
    @Inject(READ_MODEL_SYNC) private readonly sync: ReadModelSync,
    @Inject(TENANCY) private readonly tenancy: Tenancy,
    @Inject(SCHEDULER_SETTINGS) private readonly settings: SchedulerSettings,
    @Inject(QUOTA_GATE) private readonly quotaGate: QuotaGate,
    private readonly world: World,
  ) {
    // Kept folded: an app's history grows with every version, scale and traffic change, and a command
    // then reads only what was stored since (one round trip when nothing was).
    this.apps = new EventSourcedRepository(store, APP, evolveApp, { cacheSize: APP_CACHE_SIZE });
    this.domains = new DomainClaims(store);
  }

  async create(
    cmd: { space: string; app: string; cluster: string; stickySessions: boolean },
    cause: Cause,
  ): Promise<AppView> {
    const cluster = [...this.world.clusters.values()].find(
      (c) => c.id === cmd.cluster || c.name === cmd.cluster,
    );
    if (!cluster)
      throw new PierError('CLUSTER_NOT_FOUND', `cluster ${cmd.cluster} does not exist`, {
        cluster: cmd.cluster,
      });
    const defaultDomain = `${cmd.app}.${cmd.space}.${this.settings.baseDomain}`;
    const quota = await this.tenancy.quota(cmd.space);
    const create = async () => {
      if (limits(quota, ['maxApps'])) assertAppFits(quota, await this.readModel.usage(cmd.space));
      // The default domain is the app's from its creation: claimed before the app exists, so no other
      // app ever holds it (a claim left by a failed creation is the same app's when it is retried).
      await this.domains.claim({ host: defaultDomain, space: cmd.space, app: cmd.app }, cause);
      await this.change(cmd, cause, (s, ctx) =>
        createApp(
          s,
          {
            space: cmd.space,
            app: cmd.app,
            clusterId: cluster.id,
            defaultDomain,
            stickySessions: cmd.stickySessions,
          },
          ctx,
        ),
      );
    };
    await (limits(quota, ['maxApps']) ? this.quotaGate.exclusive(cmd.space, create) : create());
    return this.view(cmd);
  }

  /**
   * Claims a host for an existing app: the namespace rules first, then the app (a claim is never stored
   * for an app that does not exist or is being deleted), then the host's own aggregate.
   */
  async addDomain(
    cmd: { space: string; app: string; host: string; platformAdmin: boolean },
    cause: Cause,
  ): Promise<AppView> {
    assertMayClaim(cmd.host, { ...cmd, baseDomain: this.settings.baseDomain });
    const { state } = await this.apps.load(appId(cmd.space, cmd.app));
    addDomain(state, cmd, { cause, now: new Date().toISOString() });
    const ref = { host: cmd.host, space: cmd.space, app: cmd.app };
    await this.domains.claim(ref, cause);
    try {
      await this.change(cmd, cause, (s, ctx) => addDomain(s, cmd, ctx));
    } catch (error) {
      // The app went away (or began its deletion) in between: its claim must not outlive it.
      await this.domains.release(ref, cause);
      throw error;
    }
    return this.view(cmd);
  }

  async removeDomain(cmd: { space: string; app: string; host: string }, cause: Cause): Promise<AppView> {
    await this.change(cmd, cause, (s, ctx) => removeDomain(s, cmd, ctx));
    await this.domains.release(cmd, cause);
    return this.view(cmd);
  }

  async createVersion(
    cmd: { space: string; app: string; spec: VersionSpec; platformAdmin: boolean },
    cause: Cause,
  ) {
    await this.validateSpec(cmd.space, cmd.spec, cmd.platformAdmin);
    const { events } = await this.change(cmd, cause, (s, ctx) => createVersion(s, cmd, ctx));
    const created = events[0] as Extract<AppEvents, { type: 'VersionCreated' }>;
    const view = await this.view(cmd);
    return view.versions.find((v) => v.version === created.data.version)!;
  }

  async deleteVersion(cmd: { space: string; app: string; version: number }, cause: Cause) {
    const liveInstances = await this.readModel.liveInstances(cmd.space, cmd.app, cmd.version);
    await this.change(cmd, cause, (s, ctx) => deleteVersion(s, { ...cmd, liveInstances }, ctx));
    return { version: cmd.version };
  }

  async scale(
    cmd: {
      space: string;
      app: string;
      version: number;
      instances: number;
      reason: 'deploy' | 'scale' | 'stop';
    },
    cause: Cause,
  ): Promise<AppView> {
    const app = await this.view(cmd);
    const version = app.versions.find((v) => v.version === cmd.version);
    if (!version)
      throw new PierError('VERSION_NOT_FOUND', `version ${cmd.version} of ${cmd.app} does not exist`, {
        version: cmd.version,
      });
    const quota = cmd.instances > version.desiredInstances ? await this.tenancy.quota(cmd.space) : null;
    if (!quota || !limits(quota, ['maxInstances', 'maxCpuMillicores', 'maxMemoryMiB'])) {
      await this.change(cmd, cause, (s, ctx) => scaleVersion(s, cmd, ctx));
      return this.view(cmd);
    }
    return this.quotaGate.exclusive(cmd.space, async () => {
      // Read again inside the gate: a change that got in first is in the read model by now.
      const current = (await this.view(cmd)).versions.find((v) => v.version === cmd.version);
      const delta = cmd.instances - (current?.desiredInstances ?? 0);
      if (delta > 0) {
        const usage = await this.readModel.usage(cmd.space);
        assertInstancesFit(quota, usage, delta, version.spec.resources);
      }
      await this.change(cmd, cause, (s, ctx) => scaleVersion(s, cmd, ctx));
      return this.view(cmd);
    });
  }

  async setTraffic(cmd: { space: string; app: string; weights: Weights }, cause: Cause): Promise<AppView> {
    await this.change(cmd, cause, (s, ctx) => setTraffic(s, cmd, ctx));
    return this.view(cmd);
  }

  async setStickySessions(
    cmd: { space: string; app: string; enabled: boolean },
    cause: Cause,
  ): Promise<AppView> {
    await this.change(cmd, cause, (s, ctx) => setStickySessions(s, cmd, ctx));
    return this.view(cmd);
  }

  async delete(cmd: { space: string; app: string }, cause: Cause) {
    const { state } = await this.change(cmd, cause, (s, ctx) => requestDeletion(s, cmd, ctx));
    for (const host of [...(state?.domains ?? []), ...(state ? [state.defaultDomain] : [])])
      await this.domains.release({ host, space: cmd.space, app: cmd.app }, cause);
    return { space: cmd.space, app: cmd.app, state: 'deleting' as const };
  }

  /**
   * Starts the deletion of every app of a space that is being deleted, and answers how many apps it still
   * has (those being deleted included). Called again until none is left, so an app created while the
   * deletion began is caught by a later call.
   */
  async deleteSpaceApps(cmd: { space: string }, cause: Cause): Promise<{ apps: number }> {
    const names = await this.readModel.appNames(cmd.space);
    for (const app of names) {
      await this.delete({ space: cmd.space, app }, cause).catch((error: unknown) => {
        // Deleted in between: nothing left to do for it.
        if (!(error instanceof PierError && error.code === 'APP_NOT_FOUND')) throw error;
      });
    }
    return { apps: (await this.readModel.appNames(cmd.space)).length };
  }

  async view(cmd: { space: string; app: string }): Promise<AppView> {
    const view = await this.readModel.app(cmd.space, cmd.app);
    if (!view)
      throw new PierError('APP_NOT_FOUND', `app ${cmd.app} does not exist in ${cmd.space}`, {
        space: cmd.space,
        app: cmd.app,
      });
    return view;
  }

  private async change(
    cmd: { space: string; app: string },
    cause: Cause,
    decide: (state: AppState | null, ctx: { cause: Cause; now: string }) => AppEvents[],
  ) {
    const ctx = { cause, now: new Date().toISOString() };
    const result = await execute(this.apps, appId(cmd.space, cmd.app), (s) => decide(s, ctx), evolveApp);
    await this.sync.waitFor(result.version);
    return result;
  }

  /** Beyond the schema (which checks probes against declared ports): the policy gate, secrets that exist. */
  private async validateSpec(space: string, spec: VersionSpec, platformAdmin: boolean): Promise<void> {
    const security = containerSecuritySchema.safeParse(spec.security ?? {});
    if (!security.success) {
      throw new PierError('VALIDATION_FAILED', 'security options are not valid', {
        issues: security.error.issues.map((i) => ({
          path: `security.${i.path.join('.')}`,
          message: i.message,
        })),
      });
    }
    enforceContainerPolicy(security.data, { platformAdmin });
    const secrets = new Set([
      ...Object.values(spec.secretEnv).map((s) => s.secret),
      ...(spec.registrySecret ? [spec.registrySecret] : []),
    ]);
    for (const name of secrets) {
      if (!(await this.tenancy.secretExists(space, name))) {
        throw new PierError('SECRET_NOT_FOUND', `secret ${name} does not exist in ${space}`, {
          secret: name,
        });
      }
    }
  }
}

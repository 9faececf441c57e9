import {
  AppCreated,
  AppDeleted,
  AppDeletionRequested,
  AppDomainAdded,
  AppDomainRemoved,
  type AppEvent,
  AppStickySessionsSet,
  createMessage,
  PierError,
  TrafficSet,
  VersionCreated,
  VersionDeleted,
  VersionScaled,
  type VersionSpec,
  type Weights,
} from '@pier/contracts';
import { type CommandContext } from '../clock';
import { type AppState, liveApp, liveVersions } from './app.state';
import { rebalance, sameWeights, toHundredths } from './traffic';

const ref = (s: AppState) => ({ space: s.space, app: s.app });

/** A new app; sticky sessions asked for at creation follow as their own event (off is the default). */
export function createApp(
  state: AppState | null,
  cmd: { space: string; app: string; clusterId: string; defaultDomain: string; stickySessions?: boolean },
  ctx: CommandContext,
): AppEvent[] {
  if (liveApp(state))
    throw new PierError('APP_NAME_TAKEN', `an app named ${cmd.app} already exists in ${cmd.space}`, {
      app: cmd.app,
    });
  const { space, app, clusterId, defaultDomain } = cmd;
  const events: AppEvent[] = [
    createMessage(AppCreated, { space, app, clusterId, defaultDomain }, ctx.cause, ctx.now),
  ];
  if (cmd.stickySessions)
    events.push(createMessage(AppStickySessionsSet, { space, app, enabled: true }, ctx.cause, ctx.now));
  return events;
}

export function addDomain(
  state: AppState | null,
  cmd: { space: string; app: string; host: string },
  ctx: CommandContext,
): AppEvent[] {
  const app = activeApp(state, cmd);
  if (app.domains.includes(cmd.host) || app.defaultDomain === cmd.host) return [];
  return [createMessage(AppDomainAdded, { ...ref(app), host: cmd.host }, ctx.cause, ctx.now)];
}

export function removeDomain(
  state: AppState | null,
  cmd: { space: string; app: string; host: string },
  ctx: CommandContext,
): AppEvent[] {
  const app = existingApp(state, cmd);
  if (!app.domains.includes(cmd.host))
    throw new PierError('DOMAIN_NOT_FOUND', `${cmd.host} is not a domain of ${cmd.app}`, { host: cmd.host });
  return [createMessage(AppDomainRemoved, { ...ref(app), host: cmd.host }, ctx.cause, ctx.now)];
}

/** A new immutable version, numbered after every version the app ever had. */
export function createVersion(
  state: AppState | null,
  cmd: { space: string; app: string; spec: VersionSpec },
  ctx: CommandContext,
): AppEvent[] {
  const app = activeApp(state, cmd);
  const version = Math.max(0, ...Object.keys(app.versions).map(Number)) + 1;
  return [createMessage(VersionCreated, { ...ref(app), version, spec: cmd.spec }, ctx.cause, ctx.now)];
}

/** Deletes a version that runs nothing (`liveInstances` counts its instances not yet stopped). */
export function deleteVersion(
  state: AppState | null,
  cmd: { space: string; app: string; version: number; liveInstances: number },
  ctx: CommandContext,
): AppEvent[] {
  const app = existingApp(state, cmd);
  const v = requireVersion(app, cmd.version);
  if (v.desired > 0 || cmd.liveInstances > 0) {
    throw new PierError('VERSION_HAS_INSTANCES', `version ${v.version} still has instances; stop it first`, {
      version: v.version,
      instances: Math.max(v.desired, cmd.liveInstances),
    });
  }
  return [createMessage(VersionDeleted, { ...ref(app), version: v.version }, ctx.cause, ctx.now)];
}

/** Deploy, scale and stop: the desired instance count of a version, and the traffic that follows. */
export function scaleVersion(
  state: AppState | null,
  cmd: {
    space: string;
    app: string;
    version: number;
    instances: number;
    reason: 'deploy' | 'scale' | 'stop';
  },
  ctx: CommandContext,
): AppEvent[] {
  const app = activeApp(state, cmd);
  const v = requireVersion(app, cmd.version);
  if (v.desired === cmd.instances) return [];
  const events: AppEvent[] = [
    createMessage(
      VersionScaled,
      { ...ref(app), version: v.version, instances: cmd.instances, reason: cmd.reason },
      ctx.cause,
      ctx.now,
    ),
  ];
  const running = liveVersions(app)
    .filter((x) => (x.version === v.version ? cmd.instances : x.desired) > 0)
    .map((x) => x.version);
  const weights = rebalance(app.weights, running);
  if (!sameWeights(weights, app.weights)) events.push(traffic(app, weights, ctx));
  return events;
}

/** Sets the split between running versions; a version that runs nothing cannot take traffic. */
export function setTraffic(
  state: AppState | null,
  cmd: { space: string; app: string; weights: Weights },
  ctx: CommandContext,
): AppEvent[] {
  const app = activeApp(state, cmd);
  const weights: Record<number, number> = {};
  for (const [key, percent] of Object.entries(cmd.weights)) {
    const v = requireVersion(app, Number(key));
    if (percent > 0 && v.desired === 0) {
      throw new PierError(
        'VERSION_NOT_DEPLOYED',
        `version ${v.version} runs no instance; deploy it before giving it traffic`,
        { version: v.version },
      );
    }
    weights[v.version] = toHundredths(percent);
  }
  if (sameWeights(weights, app.weights)) return [];
  return [traffic(app, weights, ctx)];
}

/** Turns sticky sessions on or off; asking for the current setting changes nothing. */
export function setStickySessions(
  state: AppState | null,
  cmd: { space: string; app: string; enabled: boolean },
  ctx: CommandContext,
): AppEvent[] {
  const app = activeApp(state, cmd);
  if (app.stickySessions === cmd.enabled) return [];
  return [createMessage(AppStickySessionsSet, { ...ref(app), enabled: cmd.enabled }, ctx.cause, ctx.now)];
}

export function requestDeletion(
  state: AppState | null,
  cmd: { space: string; app: string },
  ctx: CommandContext,
): AppEvent[] {
  const app = existingApp(state, cmd);
  if (app.deleting) return [];
  return [createMessage(AppDeletionRequested, ref(app), ctx.cause, ctx.now)];
}

/** Completes a deletion once nothing runs any more. */
export function completeDeletion(
  state: AppState | null,
  cmd: { liveInstances: number },
  ctx: CommandContext,
): AppEvent[] {
  if (!state || state.deleted || !state.deleting || cmd.liveInstances > 0) return [];
  return [createMessage(AppDeleted, ref(state), ctx.cause, ctx.now)];
}

function traffic(app: AppState, weights: Record<number, number>, ctx: CommandContext): AppEvent {
  return createMessage(
    TrafficSet,
    { ...ref(app), weights: Object.fromEntries(Object.entries(weights).map(([k, w]) => [k, w])) },
    ctx.cause,
    ctx.now,
  );
}

function existingApp(state: AppState | null, cmd: { space: string; app: string }): AppState {
  const app = liveApp(state);
  if (!app)
    throw new PierError('APP_NOT_FOUND', `app ${cmd.app} does not exist in ${cmd.space}`, {
      space: cmd.space,
      app: cmd.app,
    });
  return app;
}

function activeApp(state: AppState | null, cmd: { space: string; app: string }): AppState {
  const app = existingApp(state, cmd);
  if (app.deleting) throw new PierError('APP_DELETING', `app ${cmd.app} is being deleted`, { app: cmd.app });
  return app;
}

function requireVersion(app: AppState, version: number) {
  const v = app.versions[version];
  if (!v || v.deleted)
    throw new PierError('VERSION_NOT_FOUND', `version ${version} of ${app.app} does not exist`, { version });
  return v;
}

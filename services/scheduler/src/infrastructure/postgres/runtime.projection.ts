import { APP, type PierEvent, type ProbeResult, type Subjects } from '@pier/contracts';
import { type StoredEvent } from '@pier/eventstore';
import { type Projection } from '@pier/persistence';
import { type EntityManager } from 'typeorm';

const short = (id: string) => id.slice(0, 8);

/**
 * The runtime read model is kept by two projections, so that a command on an app waits only for the
 * app's own events and never behind the far more numerous instance transitions:
 * - `appsProjection`: apps and versions, and the feed lines of app events;
 * - `instancesProjection`: instances, and the feed lines of instance events.
 * Both write the feed (`app_events`), each its own lines: app events' lines have no instance.
 */
export const appsProjection = (subjects: Subjects): Projection<PierEvent> => ({
  name: 'runtime-apps',
  filterSubject: subjects.aggregateType(APP),
  tables: ['apps', 'versions'],
  clear: async (m) => void (await m.query('DELETE FROM app_events WHERE instance_id IS NULL')),
  apply: (stored: StoredEvent<PierEvent>, m: EntityManager) => applyAppEvent(stored, m),
});

/** Instances and their feed lines; it follows every runtime event for the app deletions among them. */
export const instancesProjection = (subjects: Subjects): Projection<PierEvent> => ({
  name: 'runtime-instances',
  filterSubject: subjects.context('runtime'),
  tables: ['instances'],
  clear: async (m) => void (await m.query('DELETE FROM app_events WHERE instance_id IS NOT NULL')),
  apply: (stored: StoredEvent<PierEvent>, m: EntityManager) => applyInstanceEvent(stored, m),
});

async function applyAppEvent(
  { event: e, position }: StoredEvent<PierEvent>,
  m: EntityManager,
): Promise<void> {
  const at = e.metadata.occurredAt;
  const feed = async (
    space: string,
    app: string,
    summary: string,
    refs: { instanceId?: string; version?: number } = {},
  ) =>
    m.query(
      'INSERT INTO app_events (position, space, app, at, type, actor, instance_id, version, summary) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
      [
        position,
        space,
        app,
        at,
        e.type,
        JSON.stringify(e.metadata.actor),
        refs.instanceId ?? null,
        refs.version ?? null,
        summary,
      ],
    );
  switch (e.type) {
    case 'AppCreated':
      await m.query(
        `INSERT INTO apps (space, name, cluster_id, state, default_domain, domains, weights, sticky_sessions, created_at)
         VALUES ($1, $2, $3, 'active', $4, '[]', '{}', false, $5)
         ON CONFLICT (space, name) DO UPDATE SET cluster_id = $3, state = 'active', default_domain = $4, domains = '[]', weights = '{}', sticky_sessions = false, created_at = $5`,
        [e.data.space, e.data.app, e.data.clusterId, e.data.defaultDomain, at],
      );
      await m.query('DELETE FROM versions WHERE space = $1 AND app = $2', [e.data.space, e.data.app]);
      return void (await feed(e.data.space, e.data.app, `app created`));
    case 'AppDomainAdded':
      await m.query(`UPDATE apps SET domains = domains || $3::jsonb WHERE space = $1 AND name = $2`, [
        e.data.space,
        e.data.app,
        JSON.stringify([e.data.host]),
      ]);
      return void (await feed(e.data.space, e.data.app, `domain ${e.data.host} added`));
    case 'AppDomainRemoved':
      await m.query(`UPDATE apps SET domains = domains - $3::text WHERE space = $1 AND name = $2`, [
        e.data.space,
        e.data.app,
        e.data.host,
      ]);
      return void (await feed(e.data.space, e.data.app, `domain ${e.data.host} removed`));
    case 'AppDeletionRequested':
      await m.query(`UPDATE apps SET state = 'deleting' WHERE space = $1 AND name = $2`, [
        e.data.space,
        e.data.app,
      ]);
      return void (await feed(e.data.space, e.data.app, 'deletion requested: stopping every instance'));
    case 'AppDeleted':
      await m.query('DELETE FROM apps WHERE space = $1 AND name = $2', [e.data.space, e.data.app]);
      await m.query('DELETE FROM versions WHERE space = $1 AND app = $2', [e.data.space, e.data.app]);
      return void (await feed(e.data.space, e.data.app, 'app deleted'));
    case 'VersionCreated':
      await m.query(
        `INSERT INTO versions (space, app, version, label, image, spec, desired, deleted, created_at) VALUES ($1, $2, $3, $4, $5, $6, 0, false, $7)`,
        [
          e.data.space,
          e.data.app,
          e.data.version,
          e.data.spec.label ?? null,
          e.data.spec.image,
          JSON.stringify(e.data.spec),
          at,
        ],
      );
      return void (await feed(
        e.data.space,
        e.data.app,
        `version ${e.data.version} created (${e.data.spec.image})`,
        { version: e.data.version },
      ));
    case 'VersionDeleted':
      await m.query('UPDATE versions SET deleted = true WHERE space = $1 AND app = $2 AND version = $3', [
        e.data.space,
        e.data.app,
        e.data.version,
      ]);
      return void (await feed(e.data.space, e.data.app, `version ${e.data.version} deleted`, {
        version: e.data.version,
      }));
    case 'VersionScaled':
      await m.query('UPDATE versions SET desired = $4 WHERE space = $1 AND app = $2 AND version = $3', [
        e.data.space,
        e.data.app,
        e.data.version,
        e.data.instances,
      ]);
      return void (await feed(
        e.data.space,
        e.data.app,
        `version ${e.data.version}: ${e.data.reason} to ${e.data.instances} instance(s)`,
        { version: e.data.version },
      ));
    case 'TrafficSet': {
      await m.query('UPDATE apps SET weights = $3 WHERE space = $1 AND name = $2', [
        e.data.space,
        e.data.app,
        JSON.stringify(e.data.weights),
      ]);
      const split = Object.entries(e.data.weights)
        .map(([v, w]) => `v${v} ${(w / 100).toFixed(2)}%`)
        .join(', ');
      return void (await feed(e.data.space, e.data.app, `traffic: ${split || 'none'}`));
    }
    case 'AppStickySessionsSet':
      await m.query('UPDATE apps SET sticky_sessions = $3 WHERE space = $1 AND name = $2', [
        e.data.space,
        e.data.app,
        e.data.enabled,
      ]);
      return void (await feed(e.data.space, e.data.app, `sticky sessions ${e.data.enabled ? 'on' : 'off'}`));
    default:
      return;
  }
}

/** Instance lifecycle; `stopping` sticks once a stop was asked for. */
async function applyInstanceEvent(
  { event: e, position }: StoredEvent<PierEvent>,
  m: EntityManager,
): Promise<void> {
  const at = e.metadata.occurredAt;
  if (e.type === 'AppDeleted') {
    await m.query('DELETE FROM instances WHERE space = $1 AND app = $2', [e.data.space, e.data.app]);
    return;
  }
  if (e.type === 'InstanceRequested') {
    const d = e.data;
    const replaces = d.replaces ? ` to replace ${short(d.replaces)}` : '';
    // The instance row and its feed line in one round trip; a redelivered request changes neither.
    await m.query(
      `WITH requested AS (
         INSERT INTO instances (id, space, app, version, phase, host_ports, restarts, stop_requested, updated_at)
         VALUES ($1, $2, $3, $4, 'pending', '[]', 0, false, $5) ON CONFLICT (id) DO NOTHING)
       INSERT INTO app_events (position, space, app, at, type, actor, instance_id, version, summary)
       VALUES ($6, $2, $3, $5, $7, $8, $1, $4, $9)`,
      [
        d.instanceId,
        d.space,
        d.app,
        d.version,
        at,
        position,
        e.type,
        JSON.stringify(e.metadata.actor),
        `instance ${short(d.instanceId)} requested${replaces}`,
      ],
    );
    return;
  }
  if (!('instanceId' in e.data) || e.type === 'InstanceAssigned' || e.type === 'InstanceUnassigned') return;
  const id = e.data.instanceId as string;
  /**
   * One instance transition in one round trip: the row is updated and, when the instance is known, the
   * feed gets a line with the instance's app and version. `$1` is the instance id, `$2` the event's time.
   */
  const transition = (set: string, values: unknown[], summary: string) => {
    const n = 2 + values.length;
    return m.query(
      `WITH changed AS (UPDATE instances SET ${set}, updated_at = $2 WHERE id = $1 RETURNING space, app, version)
       INSERT INTO app_events (position, space, app, at, type, actor, instance_id, version, summary)
       SELECT $${n + 1}, space, app, $2, $${n + 2}, $${n + 3}, $1, version, $${n + 4} FROM changed`,
      [
        id,
        at,
        ...values,
        position,
        e.type,
        JSON.stringify(e.metadata.actor),
        `instance ${short(id)} ${summary}`,
      ],
    );
  };
  const phase = (p: string) =>
    `phase = CASE WHEN stop_requested AND '${p}' <> 'stopped' THEN 'stopping' ELSE '${p}' END`;
  const panicBefore = PANIC_TRIGGERS.has(e.type) ? await routerPanic(m, id) : null;
  await applyTransition(e, transition, phase);
  // One event changes one instance: with two ready before, the version has one ready after.
  if (panicBefore && panicBefore.ready < 2) await notePanicChange(m, id, position, panicBefore);
}

/** An instance transition: its row and its feed line (see `applyInstanceEvent`). */
async function applyTransition(
  e: PierEvent,
  transition: (set: string, values: unknown[], summary: string) => Promise<unknown>,
  phase: (p: string) => string,
): Promise<void> {
  switch (e.type) {
    case 'InstanceUnschedulable':
      return void (await transition(
        `${phase('unschedulable')}, reason = $3`,
        [e.data.reason],
        `unschedulable: ${e.data.reason}`,
      ));
    case 'InstancePlaced': {
      // Recorded late, after the agent started the instance on that node (see the instance state): it
      // only names the node. The right-hand side reads the row as it was.
      const late = 'started_at IS NOT NULL AND (node_id IS NULL OR node_id = $3)';
      return void (await transition(
        `phase = CASE WHEN ${late} THEN phase WHEN stop_requested THEN 'stopping' ELSE 'starting' END, ` +
          `reason = CASE WHEN ${late} THEN reason ELSE NULL END, node_id = $3`,
        [e.data.nodeId],
        `placed on node ${short(e.data.nodeId)}`,
      ));
    }
    case 'InstanceStarted':
      return void (await transition(
        `${phase('starting')}, host = $3, host_ports = $4, restarts = $5, started_at = $2, reason = NULL, code = NULL`,
        [e.data.host, JSON.stringify(e.data.hostPorts), e.data.restarts],
        `started${e.data.restarts ? ` (restart ${e.data.restarts})` : ''}`,
      ));
    case 'InstanceReady': {
      const probe = probeColumns(e.data.probe, 3);
      return void (await transition(`${phase('ready')}, reason = NULL${probe.set}`, probe.values, 'ready'));
    }
    case 'InstanceNotReady': {
      const probe = probeColumns(e.data.probe, 4);
      return void (await transition(
        `${phase('unhealthy')}, reason = $3${probe.set}`,
        [e.data.reason, ...probe.values],
        `not ready: ${e.data.reason}`,
      ));
    }
    case 'InstanceExited': {
      const restart =
        e.data.restartInMs === null ? '' : `; restarting in ${Math.round(e.data.restartInMs / 1000)} s`;
      const reason = `${e.data.reason}${e.data.exitCode === null ? '' : ` (exit code ${e.data.exitCode})`}${restart}`;
      const probe = probeColumns(e.data.probe, 4);
      return void (await transition(
        `${phase('unhealthy')}, reason = $3${probe.set}`,
        [reason, ...probe.values],
        `exited: ${reason}`,
      ));
    }
    case 'InstanceFailed':
      return void (await transition(
        `${phase('failed')}, code = $3, reason = $4`,
        [e.data.code, e.data.reason],
        `failed (${e.data.code}): ${e.data.reason}`,
      ));
    case 'InstanceStopRequested':
      return void (await transition(
        `phase = 'stopping', stop_requested = true, reason = $3`,
        [`stop: ${e.data.reason}`],
        `stop requested (${e.data.reason})`,
      ));
    case 'InstanceStopped':
      return void (await transition(
        `phase = 'stopped'`,
        [],
        `stopped${e.data.exitCode === null ? '' : ` (exit code ${e.data.exitCode})`}`,
      ));
    default:
      return;
  }
}

/** Instance events that can put a version in or out of the router's panic. */
const PANIC_TRIGGERS: ReadonlySet<string> = new Set([
  'InstanceStarted',
  'InstanceReady',
  'InstanceNotReady',
  'InstanceExited',
  'InstanceFailed',
  'InstanceStopRequested',
]);

/**
 * How the router sees an instance's version: instances in rotation, and those it keeps in panic
 * (counted only when none is in rotation).
 */
interface VersionRouting {
  readonly version: number;
  readonly ready: number;
  readonly kept: number;
}

/**
 * The router's panic threshold (services/router `panicOf`), from the same instance events: a version
 * whose instances with an HTTP port are none ready, not stopping, while some running ones had been
 * ready since they last started (their latest start, ready, exit or failure is a ready), keeps sending
 * to those. Null for an unknown instance.
 */
async function routerPanic(m: EntityManager, instanceId: string): Promise<VersionRouting | null> {
  const live = `FROM instances i JOIN instances t ON i.space = t.space AND i.app = t.app AND i.version = t.version
     WHERE t.id = $1 AND NOT i.stop_requested AND i.phase <> 'stopped' AND i.host_ports @> '[{"protocol": "http"}]'`;
  const [target] = await m.query(
    `SELECT t.version, (SELECT count(*) ${live} AND i.phase = 'ready') AS ready FROM instances t WHERE t.id = $1`,
    [instanceId],
  );
  if (!target) return null;
  const ready = Number(target.ready);
  if (ready > 0) return { version: target.version, ready, kept: 0 };
  // Only a version with nothing ready looks back at its instances' histories.
  const [row] = await m.query(
    `SELECT count(*) AS kept ${live} AND (
       SELECT e.type FROM app_events e
       WHERE e.space = i.space AND e.app = i.app AND e.instance_id = i.id
         AND e.type IN ('InstanceStarted', 'InstanceReady', 'InstanceExited', 'InstanceFailed')
       ORDER BY e.position DESC LIMIT 1) = 'InstanceReady'`,
    [instanceId],
  );
  return { version: target.version, ready, kept: Number(row.kept) };
}

const inPanic = (r: VersionRouting) => r.ready === 0 && r.kept > 0;

/**
 * Says in the feed when the event put the instance's version in the router's panic or took it out: a
 * clause added to the event's own line (one line per stream position), derived from events alone, so a
 * rebuild of the feed and every scheduler replica write the same words.
 */
async function notePanicChange(
  m: EntityManager,
  instanceId: string,
  position: number,
  before: VersionRouting,
): Promise<void> {
  const after = await routerPanic(m, instanceId);
  if (!after || inPanic(before) === inPanic(after)) return;
  const v = after.version;
  const note = inPanic(after)
    ? `; router: version ${v} has no ready instance; keeps sending to its ${after.kept} running ` +
      `instance${after.kept === 1 ? '' : 's'} that had been ready (panic)`
    : after.ready > 0
      ? `; router: version ${v} has a ready instance again (panic over)`
      : `; router: version ${v} has no running instance that had been ready left (panic over)`;
  await m.query('UPDATE app_events SET summary = summary || $2 WHERE position = $1', [position, note]);
}

/**
 * The instance's last probe result, from a transition that carries the probe run behind it; probe_at is
 * the event's time (`$2` of `updateInstance`). A transition without one (a stop, a plain exit, an event
 * stored before agents reported probes) leaves the last result as it was.
 */
function probeColumns(probe: ProbeResult | undefined, first: number): { set: string; values: unknown[] } {
  if (!probe) return { set: '', values: [] };
  return {
    set: `, probe_kind = $${first}, probe_ok = $${first + 1}, probe_detail = $${first + 2}, probe_at = $2`,
    values: [probe.kind, probe.ok, probe.detail],
  };
}

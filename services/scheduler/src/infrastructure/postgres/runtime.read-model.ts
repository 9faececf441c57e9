import { type AppView, type InstanceView, PierError, type VersionSpec } from '@pier/contracts';
import { type DataSource } from 'typeorm';

type Row = Record<string, unknown>;
const iso = (v: unknown) => (v ? new Date(v as string).toISOString() : null);

/**
 * An app with its versions and the count of its live instances per version, in one query (an app view is
 * read by every read of an app and at the end of every change to one): the apps of `where`.
 */
const APP_VIEW = (where: string) => `
  SELECT a.*,
    coalesce((SELECT json_agg(v ORDER BY v.version)
              FROM (SELECT version, label, spec, desired, created_at FROM versions
                    WHERE space = a.space AND app = a.name AND NOT deleted) v), '[]') AS version_rows,
    coalesce((SELECT json_agg(l)
              FROM (SELECT version, count(*) FILTER (WHERE phase = 'ready') AS ready, min(started_at) AS started_at
                    FROM instances WHERE space = a.space AND app = a.name AND phase <> 'stopped'
                    GROUP BY version) l), '[]') AS live_rows
  FROM apps a WHERE ${where}`;

/** Queries over the runtime read model. */
export class RuntimeReadModel {
  constructor(private readonly db: DataSource) {}

  async app(space: string, app: string): Promise<AppView | null> {
    const [row] = await this.db.query(APP_VIEW('a.space = $1 AND a.name = $2'), [space, app]);
    return row ? toApp(row) : null;
  }

  async apps(
    space: string,
    page: { limit: number; cursor?: string },
  ): Promise<{ items: AppView[]; nextCursor: string | null }> {
    const after = page.cursor ? decodeCursor(page.cursor, NAME_CURSOR) : '';
    const rows: Row[] = await this.db.query(
      `${APP_VIEW('a.space = $1 AND a.name > $2')} ORDER BY a.name LIMIT $3`,
      [space, after, page.limit + 1],
    );
    const items = rows.slice(0, page.limit).map(toApp);
    return {
      items,
      nextCursor:
        rows.length > page.limit ? Buffer.from(items[items.length - 1]!.name).toString('base64url') : null,
    };
  }

  /** Every app of a space, those being deleted included. */
  async appNames(space: string): Promise<string[]> {
    const rows: { name: string }[] = await this.db.query('SELECT name FROM apps WHERE space = $1', [space]);
    return rows.map((r) => r.name);
  }

  async instances(space: string, app: string, includeStopped: boolean): Promise<InstanceView[]> {
    const rows: Row[] = await this.db.query(
      `SELECT * FROM instances WHERE space = $1 AND app = $2 ${includeStopped ? '' : "AND phase <> 'stopped'"} ORDER BY version, id`,
      [space, app],
    );
    return rows.map(toInstance);
  }

  /** Instances of a version that are not stopped yet. */
  async liveInstances(space: string, app: string, version: number): Promise<number> {
    const [row] = await this.db.query(
      `SELECT count(*) AS n FROM instances WHERE space = $1 AND app = $2 AND version = $3 AND phase <> 'stopped'`,
      [space, app, version],
    );
    return Number(row.n);
  }

  async events(space: string, app: string, page: { limit: number; cursor?: string }) {
    const before = page.cursor ? Number(decodeCursor(page.cursor, POSITION_CURSOR)) : Number.MAX_SAFE_INTEGER;
    const rows: Row[] = await this.db.query(
      'SELECT * FROM app_events WHERE space = $1 AND app = $2 AND position < $3 ORDER BY position DESC LIMIT $4',
      [space, app, before, page.limit + 1],
    );
    const items = rows.slice(0, page.limit).map((r) => ({
      id: String(r.position),
      at: iso(r.at)!,
      type: r.type as string,
      actor: r.actor as { kind: string; id: string },
      instanceId: (r.instance_id as string | null) ?? null,
      version: (r.version as number | null) ?? null,
      summary: r.summary as string,
    }));
    return {
      items,
      nextCursor:
        rows.length > page.limit ? Buffer.from(items[items.length - 1]!.id).toString('base64url') : null,
    };
  }

  /**
   * What a space has asked for: apps, desired instances and their CPU and memory, summed by Postgres
   * (a space's version history can be long; the specs themselves need not leave the database).
   */
  async usage(space: string): Promise<{ apps: number; instances: number; cpu: number; memory: number }> {
    const [row] = await this.db.query(
      `SELECT (SELECT count(*) FROM apps WHERE space = $1) AS apps,
              coalesce(sum(v.desired), 0) AS instances,
              coalesce(sum(v.desired * (v.spec->'resources'->>'cpu')::bigint), 0) AS cpu,
              coalesce(sum(v.desired * (v.spec->'resources'->>'memory')::bigint), 0) AS memory
       FROM versions v JOIN apps a ON a.space = v.space AND a.name = v.app
       WHERE v.space = $1 AND NOT v.deleted AND a.state = 'active'`,
      [space],
    );
    return {
      apps: Number(row.apps),
      instances: Number(row.instances),
      cpu: Number(row.cpu),
      memory: Number(row.memory),
    };
  }
}

function toApp(row: Row): AppView {
  const space = row.space as string;
  const name = row.name as string;
  const versions = row.version_rows as Row[];
  const live = row.live_rows as Row[];
  const liveBy = new Map(live.map((r) => [r.version as number, r]));
  const weights = row.weights as Record<string, number>;
  const views = versions.map((v) => {
    const spec = v.spec as VersionSpec;
    return {
      version: v.version as number,
      label: (v.label as string | null) ?? null,
      image: spec.image,
      spec,
      desiredInstances: v.desired as number,
      readyInstances: Number(liveBy.get(v.version as number)?.ready ?? 0),
      startedAt: iso(liveBy.get(v.version as number)?.started_at),
      weight: (weights[String(v.version)] ?? 0) / 100,
      createdAt: iso(v.created_at)!,
    };
  });
  const desired = views.reduce((a, v) => a + v.desiredInstances, 0);
  const readyCount = views.reduce((a, v) => a + Math.min(v.readyInstances, v.desiredInstances), 0);
  return {
    space,
    name,
    clusterId: row.cluster_id as string,
    state: row.state as AppView['state'],
    domains: [row.default_domain as string, ...(row.domains as string[])],
    versions: views,
    desiredInstances: desired,
    readyInstances: views.reduce((a, v) => a + v.readyInstances, 0),
    health: desired === 0 ? 100 : Math.round((readyCount / desired) * 10_000) / 100,
    stickySessions: row.sticky_sessions as boolean,
    createdAt: iso(row.created_at)!,
  };
}

const toInstance = (r: Row): InstanceView => ({
  id: r.id as string,
  version: r.version as number,
  nodeId: (r.node_id as string | null) ?? null,
  state: r.phase as InstanceView['state'],
  host: (r.host as string | null) ?? null,
  hostPorts: r.host_ports as InstanceView['hostPorts'],
  restarts: r.restarts as number,
  startedAt: iso(r.started_at),
  reason: (r.reason as string | null) ?? null,
  code: (r.code as string | null) ?? null,
  lastProbe: r.probe_kind
    ? {
        kind: r.probe_kind as NonNullable<InstanceView['lastProbe']>['kind'],
        ok: r.probe_ok as boolean,
        detail: r.probe_detail as string,
        at: iso(r.probe_at)!,
      }
    : null,
  updatedAt: iso(r.updated_at)!,
});

/** An app name (a DNS label). */
const NAME_CURSOR = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** An app event's position: a positive integer. */
const POSITION_CURSOR = /^[1-9][0-9]{0,15}$/;

/**
 * The key a cursor holds, if this read model could have made it (`Buffer.from(key).toString('base64url')`):
 * it must re-encode to itself and match `shape`. Anything else would reach Postgres as a value it
 * refuses (a NUL byte, a non-number position): a 400 here, not a 500 there.
 */
function decodeCursor(cursor: string, shape: RegExp): string {
  const value = Buffer.from(cursor, 'base64url').toString();
  if (Buffer.from(value).toString('base64url') !== cursor || !shape.test(value))
    throw new PierError('VALIDATION_FAILED', 'the page cursor is not one this API produced');
  return value;
}

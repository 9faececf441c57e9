import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { queryDatabase, type SchemaTables, schemaTables, tableDifferences } from '@pier/testing';
import { platformContainers, serviceScript } from '../platform';
import { type FaultPlatform } from './fault-platform';

const run = promisify(execFile);

/** What the event stream holds, and what is wrong with it. */
export interface StreamAudit {
  readonly events: number;
  /** Message ids stored more than once, with how often. */
  readonly duplicateIds: Record<string, number>;
  /** The same cause producing the same event type on the same aggregate more than once. */
  readonly duplicateReactions: string[];
}

/**
 * Reads every event of the platform's stream: each `metadata.messageId` must be there exactly once, and
 * no aggregate may hold two events of one type caused by the same message (a reaction run twice with
 * fresh ids).
 */
export async function auditStream(platform: FaultPlatform): Promise<StreamAudit> {
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: platform.nats.url, name: 'faults-audit' });
  try {
    const jsm = await jetstreamManager(nc);
    const stream = `${platform.prefix.toUpperCase()}_EVENTS`;
    const info = await jsm.streams.info(stream);
    const ids = new Map<string, number>();
    const reactions = new Map<string, number>();
    let events = 0;
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const message = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (!message) continue;
      events++;
      const body = JSON.parse(new TextDecoder().decode(message.data)) as {
        type: string;
        metadata: { messageId: string; causationId?: string | null };
      };
      ids.set(body.metadata.messageId, (ids.get(body.metadata.messageId) ?? 0) + 1);
      if (body.metadata.causationId) {
        const key = `${message.subject} ${body.type} caused by ${body.metadata.causationId}`;
        reactions.set(key, (reactions.get(key) ?? 0) + 1);
      }
    }
    return {
      events,
      duplicateIds: Object.fromEntries([...ids].filter(([, n]) => n > 1)),
      duplicateReactions: [...reactions].filter(([, n]) => n > 1).map(([k, n]) => `${k} ×${n}`),
    };
  } finally {
    await nc.close();
  }
}

/**
 * The services whose read model in Postgres is built by projections and has `rebuild-projections`, each
 * with its tables that no event writes. The gateway has no database; the router and the agents keep
 * their state elsewhere.
 */
const READ_MODELS = {
  clusters: [],
  // Login throttling state, written by the logins themselves: a rebuild leaves it empty.
  auth: ['login_attempts'],
  scheduler: [],
} as const satisfies Record<string, readonly string[]>;

export type ReadModelService = keyof typeof READ_MODELS;

/** A service's live read model and the one rebuilt from the stream, table by table. */
export interface ReadModelPair {
  readonly live: SchemaTables;
  readonly rebuilt: SchemaTables;
}

/**
 * Rebuilds the read model of every service that has one (clusters, auth, scheduler) from the stream
 * into a fresh schema each (`rebuild-projections`, the command down.sh points to), while the services
 * run, and returns the live and the rebuilt tables per service, row for row.
 */
export async function rebuildReadModels(
  platform: FaultPlatform,
  label: string,
): Promise<Record<ReadModelService, ReadModelPair>> {
  const services = Object.keys(READ_MODELS) as ReadModelService[];
  const pairs = await Promise.all(
    services.map(async (service) => {
      const fresh = `${platform.prefix}_rebuilt_${service}_${label}`;
      try {
        await run(process.execPath, [serviceScript(service), 'rebuild-projections'], {
          env: { ...process.env, ...platform.env, PIER_DATABASE_SCHEMA: fresh, PIER_LOG_LEVEL: 'warn' },
          timeout: 120_000,
        });
        const pair: ReadModelPair = {
          live: await schemaTables(platform.postgres.url, platform.schemaOf(service), READ_MODELS[service]),
          rebuilt: await schemaTables(platform.postgres.url, fresh, READ_MODELS[service]),
        };
        return [service, pair] as const;
      } finally {
        await queryDatabase(platform.postgres.url, `DROP SCHEMA IF EXISTS "${fresh}" CASCADE`);
      }
    }),
  );
  return Object.fromEntries(pairs) as Record<ReadModelService, ReadModelPair>;
}

/**
 * One line per table whose live and rebuilt rows differ, naming the service, the table and the rows only
 * one side has; empty when every read model was rebuilt equal to the live one.
 */
export function readModelDifferences(models: Record<ReadModelService, ReadModelPair>): string[] {
  return Object.entries(models).flatMap(([service, { live, rebuilt }]) =>
    tableDifferences(live, rebuilt).map((difference) => `${service}.${difference}`),
  );
}

type Instance = { id: string; version: number; nodeId: string | null; state: string };

/**
 * The app's state once a trial has settled: exactly `target` instances, all ready, none twice; one running
 * container for each, and no container of the platform (any app, any node) that no live instance owns.
 */
export async function settledProblems(
  platform: FaultPlatform,
  instances: Instance[],
  target: number,
): Promise<string[]> {
  const problems: string[] = [];
  const ids = instances.map((i) => i.id);
  if (new Set(ids).size !== ids.length) problems.push(`duplicate instance ids: ${ids.join(', ')}`);
  if (instances.length !== target) problems.push(`${instances.length} instances, not ${target}`);
  const notReady = instances.filter((i) => i.state !== 'ready');
  if (notReady.length) problems.push(`not ready: ${notReady.map((i) => `${i.id}=${i.state}`).join(', ')}`);
  const containers = await platformContainers(platform, ['pier.app=web']);
  const running = containers.filter((c) => c.State === 'running').map((c) => c.Labels['pier.instance']!);
  if (running.length !== new Set(running).size) problems.push(`two containers for one instance: ${running}`);
  const live = new Set(ids);
  const orphans = (await platformContainers(platform)).filter(
    (c) => !live.has(c.Labels['pier.instance'] ?? ''),
  );
  if (orphans.length)
    problems.push(
      `orphan containers: ${orphans.map((c) => `${c.Names[0]} (${c.State}, instance ${c.Labels['pier.instance']})`).join(', ')}`,
    );
  const missing = ids.filter((id) => !running.includes(id));
  if (missing.length) problems.push(`no running container for ${missing.join(', ')}`);
  return problems;
}

import { type ClusterView, type JoinTokenView, type NodeView, PierError } from '@pier/contracts';
import { type DataSource } from 'typeorm';
import { type ClustersReadModel, type Page } from '../../application/ports';
import { displayState } from '../../domain/node/node.state';
import { ClusterRow, JoinTokenRow, NodeRow } from './entities';

type NodeRecord = Omit<NodeView, 'lastSeenAt'>;

/** Queries over the clusters read model. Pages are keyset-paginated with an opaque cursor. */
export class PostgresClustersReadModel implements ClustersReadModel {
  constructor(private readonly db: DataSource) {}

  async listClusters(page: { limit: number; cursor?: string }): Promise<Page<ClusterView>> {
    const qb = this.clusterQuery()
      .orderBy('c.name', 'ASC')
      .limit(page.limit + 1);
    if (page.cursor) qb.where('c.name > :after', { after: decodeCursor(page.cursor, [CLUSTER])[0] });
    const rows = await qb.getRawMany<ClusterCountsRaw>();
    const items = rows.slice(0, page.limit).map(toClusterView);
    const more = rows.length > page.limit;
    return { items, nextCursor: more ? encodeCursor([items[items.length - 1]!.name]) : null };
  }

  async getCluster(clusterId: string): Promise<ClusterView | null> {
    const row = await this.clusterQuery()
      .where('c.id = :clusterId', { clusterId })
      .getRawOne<ClusterCountsRaw>();
    return row ? toClusterView(row) : null;
  }

  async listJoinTokens(clusterId: string, now: string): Promise<JoinTokenView[]> {
    const rows = await this.db
      .getRepository(JoinTokenRow)
      .find({ where: { clusterId }, order: { createdAt: 'DESC' } });
    return rows.map((t) => ({
      id: t.id,
      clusterId: t.clusterId,
      description: t.description,
      state: t.revoked
        ? 'revoked'
        : t.maxUses !== null && t.uses >= t.maxUses
          ? 'exhausted'
          : t.expiresAt.getTime() <= Date.parse(now)
            ? 'expired'
            : 'active',
      expiresAt: t.expiresAt.toISOString(),
      maxUses: t.maxUses,
      uses: t.uses,
      createdAt: t.createdAt.toISOString(),
    }));
  }

  async listNodes(query: { clusterId?: string; limit: number; cursor?: string }): Promise<Page<NodeRecord>> {
    const qb = this.db
      .getRepository(NodeRow)
      .createQueryBuilder('n')
      .orderBy('n.name', 'ASC')
      .addOrderBy('n.id', 'ASC');
    if (query.clusterId) qb.andWhere('n.cluster_id = :clusterId', { clusterId: query.clusterId });
    if (query.cursor) {
      const [name, id] = decodeCursor(query.cursor, [NAME, UUID]);
      qb.andWhere('(n.name, n.id) > (:name, :id)', { name, id });
    }
    const rows = await qb.limit(query.limit + 1).getMany();
    const items = rows.slice(0, query.limit).map(toNodeRecord);
    const last = items[items.length - 1];
    return {
      items,
      nextCursor: rows.length > query.limit && last ? encodeCursor([last.name, last.id]) : null,
    };
  }

  async getNode(nodeId: string): Promise<NodeRecord | null> {
    const row = await this.db.getRepository(NodeRow).findOneBy({ id: nodeId });
    return row ? toNodeRecord(row) : null;
  }

  private clusterQuery() {
    return this.db
      .getRepository(ClusterRow)
      .createQueryBuilder('c')
      .select(['c.id AS id', 'c.name AS name', 'c.description AS description', 'c.created_at AS created_at'])
      .addSelect(
        (sq) =>
          sq.select('count(*)').from(NodeRow, 'n').where("n.cluster_id = c.id AND n.liveness <> 'left'"),
        'node_count',
      )
      .addSelect(
        (sq) =>
          sq
            .select('count(*)')
            .from(NodeRow, 'n')
            .where("n.cluster_id = c.id AND n.liveness = 'up' AND n.scheduling = 'schedulable'"),
        'ready_node_count',
      );
  }
}

interface ClusterCountsRaw {
  id: string;
  name: string;
  description: string;
  created_at: Date;
  node_count: string;
  ready_node_count: string;
}

function toClusterView(r: ClusterCountsRaw): ClusterView {
  const nodeCount = Number(r.node_count);
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    state: nodeCount > 0 ? 'ready' : 'pending',
    nodeCount,
    readyNodeCount: Number(r.ready_node_count),
    createdAt: new Date(r.created_at).toISOString(),
  };
}

function toNodeRecord(n: NodeRow): NodeRecord {
  return {
    id: n.id,
    clusterId: n.clusterId,
    name: n.name,
    hostname: n.hostname,
    state: displayState(n),
    liveness: n.liveness,
    scheduling: n.scheduling,
    labels: n.labels,
    zone: n.zone,
    capacity: { cpuMillicores: n.cpuMillicores, memoryMiB: n.memoryMiB },
    engine: n.engine,
    agentVersion: n.agentVersion,
    joinedAt: n.joinedAt.toISOString(),
    updatedAt: n.updatedAt.toISOString(),
  };
}

function encodeCursor(parts: string[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

/** A cluster's name (a DNS label). */
const CLUSTER = (part: string) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(part);
/** A node's name: text Postgres can compare (no U+0000), as long as a node's name may be. */
const NAME = (part: string) => part.length > 0 && part.length <= 100 && !part.includes('\u0000');
const UUID = (part: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(part);

/**
 * The key parts a cursor holds, if `encodeCursor` could have made them: exactly one string per check
 * of `shape`, each passing it, and re-encoding to the same cursor. Anything else would reach
 * Postgres as a value it refuses (a NUL byte, a non-UUID id): a 400 here, not a 500 there.
 */
function decodeCursor(cursor: string, shape: readonly ((part: string) => boolean)[]): string[] {
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(cursor, 'base64url').toString());
  } catch {
    parts = undefined;
  }
  if (
    Array.isArray(parts) &&
    parts.length === shape.length &&
    parts.every((p, i) => typeof p === 'string' && shape[i]!(p)) &&
    encodeCursor(parts as string[]) === cursor
  )
    return parts as string[];
  throw new PierError('VALIDATION_FAILED', 'the page cursor is not one this API produced');
}

import { type PierEvent, type Subjects } from '@pier/contracts';
import { type StoredEvent } from '@pier/eventstore';
import { type Projection } from '@pier/persistence';
import { type EntityManager } from 'typeorm';
import { ClusterRow, JoinTokenRow, NodeRow } from './entities';

/** Clusters, join tokens and nodes as the API lists them. */
export const clustersProjection = (subjects: Subjects): Projection<PierEvent> => ({
  name: 'clusters-read-model',
  filterSubject: subjects.context('clusters'),
  tables: ['clusters', 'join_tokens', 'nodes'],
  apply: ({ event }: StoredEvent<PierEvent>, m: EntityManager) => applyEvent(event, m),
});

async function applyEvent(event: PierEvent, m: EntityManager): Promise<void> {
  const at = new Date(event.metadata.occurredAt);
  const nodes = m.getRepository(NodeRow);
  const node = (nodeId: string, change: Partial<NodeRow>) =>
    nodes.update({ id: nodeId }, { ...change, updatedAt: at });
  switch (event.type) {
    case 'ClusterCreated':
      await m.getRepository(ClusterRow).insert({
        id: event.data.clusterId,
        name: event.data.name,
        description: event.data.description,
        createdAt: at,
      });
      return;
    case 'JoinTokenCreated':
      await m.getRepository(JoinTokenRow).insert({
        id: event.data.tokenId,
        clusterId: event.data.clusterId,
        description: event.data.description,
        expiresAt: new Date(event.data.expiresAt),
        maxUses: event.data.maxUses,
        uses: 0,
        revoked: false,
        createdAt: at,
      });
      return;
    case 'JoinTokenUsed':
      await m.getRepository(JoinTokenRow).increment({ id: event.data.tokenId }, 'uses', 1);
      return;
    case 'JoinTokenRevoked':
      await m.getRepository(JoinTokenRow).update({ id: event.data.tokenId }, { revoked: true });
      return;
    case 'NodeJoined': {
      const d = event.data;
      await nodes.insert({
        id: d.nodeId,
        clusterId: d.clusterId,
        name: d.name,
        hostname: d.hostname,
        liveness: 'up',
        scheduling: 'schedulable',
        labels: d.labels,
        zone: d.zone,
        cpuMillicores: d.capacity.cpuMillicores,
        memoryMiB: d.capacity.memoryMiB,
        engine: d.engine,
        agentVersion: d.agentVersion,
        joinedAt: at,
        updatedAt: at,
      });
      return;
    }
    case 'NodeRejoined':
      await node(event.data.nodeId, {
        hostname: event.data.hostname,
        cpuMillicores: event.data.capacity.cpuMillicores,
        memoryMiB: event.data.capacity.memoryMiB,
        engine: event.data.engine,
        agentVersion: event.data.agentVersion,
        liveness: 'up',
      });
      return;
    case 'NodeLost':
      await node(event.data.nodeId, { liveness: 'lost' });
      return;
    case 'NodeRecovered':
      await node(event.data.nodeId, { liveness: 'up' });
      return;
    case 'NodeLeft':
      await node(event.data.nodeId, { liveness: 'left' });
      return;
    case 'NodeLabelsSet':
      await node(event.data.nodeId, { labels: event.data.labels });
      return;
    case 'NodeCordoned':
      await node(event.data.nodeId, { scheduling: 'cordoned' });
      return;
    case 'NodeUncordoned':
      await node(event.data.nodeId, { scheduling: 'schedulable' });
      return;
    case 'NodeDrainStarted':
      await node(event.data.nodeId, { scheduling: 'draining' });
      return;
    default:
      return; // ClusterNameReserved: nothing to show
  }
}

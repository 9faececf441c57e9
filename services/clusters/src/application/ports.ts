import { type AggregateRepository } from '@pier/eventstore';
import {
  type ClusterEvent,
  type ClusterNameReserved,
  type ClusterView,
  type JoinTokenView,
  type NodeEvent,
  type NodeHeartbeat,
  type NodeView,
} from '@pier/contracts';
import { type ClusterState } from '../domain/cluster/cluster.state';
import { type NodeState } from '../domain/node/node.state';

export type ClusterRepository = AggregateRepository<ClusterState, ClusterEvent>;
export type NodeRepository = AggregateRepository<NodeState, NodeEvent>;
/** Name reservations: the state is the id of the cluster holding the name. */
export type ClusterNameRepository = AggregateRepository<string, ClusterNameReserved>;

export const CLUSTER_REPOSITORY = Symbol('ClusterRepository');
export const NODE_REPOSITORY = Symbol('NodeRepository');
export const CLUSTER_NAME_REPOSITORY = Symbol('ClusterNameRepository');
export const CLUSTERS_READ_MODEL = Symbol('ClustersReadModel');
export const NODE_EVENT_FEED = Symbol('NodeEventFeed');
export const HEARTBEAT_FEED = Symbol('HeartbeatFeed');

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

/** The Postgres read model, for queries. */
export interface ClustersReadModel {
  listClusters(page: { limit: number; cursor?: string }): Promise<Page<ClusterView>>;
  getCluster(clusterId: string): Promise<ClusterView | null>;
  listJoinTokens(clusterId: string, now: string): Promise<JoinTokenView[]>;
  /** Node views without `lastSeenAt`, which only the liveness monitor knows. */
  listNodes(query: {
    clusterId?: string;
    limit: number;
    cursor?: string;
  }): Promise<Page<Omit<NodeView, 'lastSeenAt'>>>;
  getNode(nodeId: string): Promise<Omit<NodeView, 'lastSeenAt'> | null>;
}

/** Every node event, from the first one, then live. */
export interface NodeEventFeed {
  follow(onEvent: (event: NodeEvent) => void): Promise<{ stop(): Promise<void> }>;
}

/** Heartbeats as they arrive. */
export interface HeartbeatFeed {
  subscribe(onHeartbeat: (heartbeat: NodeHeartbeat) => void): { stop(): void };
}

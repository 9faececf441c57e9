import { MessageCatalog } from '../catalog';
import { type ClusterEvent, clusterEventDefinitions, ClusterNameReserved } from './cluster.events';
import { type AuthEvent, authEventDefinitions } from './auth.events';
import { type NodeEvent, nodeEventDefinitions } from './node.events';
import { type RuntimeEvent, runtimeEventDefinitions } from './runtime.events';
import { type SchedulerLeaseEvent, schedulingEventDefinitions } from './scheduling.events';

/** Every domain event Pier stores. */
export type PierEvent =
  ClusterEvent | NodeEvent | ClusterNameReserved | AuthEvent | RuntimeEvent | SchedulerLeaseEvent;

/** Reads any stored version of any Pier event. */
export const pierEvents = new MessageCatalog<PierEvent>([
  ClusterNameReserved,
  ...clusterEventDefinitions,
  ...nodeEventDefinitions,
  ...authEventDefinitions,
  ...runtimeEventDefinitions,
  ...schedulingEventDefinitions,
]);

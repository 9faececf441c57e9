import { type PierEvent } from '@pier/contracts';
import { type EventStore } from '@pier/eventstore';
import { type RpcClient } from '@pier/messaging';
import { type Logger, type Registry } from '@pier/observability';
import { InstanceRuntime, type InstanceRuntimeSettings } from '../application/run-instances/instance-runtime';
import { type ContainerDriver } from '../application/ports';
import { type NodeContainerLimits } from '../domain/container-hardening';
import { NetProber } from './net/net.prober';
import { JetStreamAssignmentFeed } from './nats/assignment.feed';
import { EventStoreInstanceLog } from './nats/instance.event-log';
import { NatsPlatformServices } from './nats/nats.platform-services';
import { type RouterPresence } from './nats/router-presence';

/** The runtime of one node wired to JetStream, the control plane's RPC and a container driver. */
export function createInstanceRuntime(options: {
  store: EventStore<PierEvent>;
  rpc: RpcClient;
  driver: ContainerDriver;
  node: { nodeId: string; credential: string };
  /**
   * `containerLimits` (pids, log rotation) is handed on with the rest; the runtime gives it to its
   * launcher (defaults apply where it does not).
   */
  settings: Omit<InstanceRuntimeSettings, 'nodeId'> & { containerLimits?: NodeContainerLimits };
  logger: Logger;
  metrics?: Registry;
  /** The routers heard of, so that a stop waits for a killed one to come back (see `RouterPresence`). */
  routers?: RouterPresence;
}): InstanceRuntime {
  const { store, node, logger } = options;
  return new InstanceRuntime(
    {
      driver: options.driver,
      feed: new JetStreamAssignmentFeed(store, node.nodeId, logger, options.metrics),
      events: new EventStoreInstanceLog(store),
      platform: new NatsPlatformServices(options.rpc, node, options.routers),
      prober: new NetProber(),
      logger,
    },
    { ...options.settings, nodeId: node.nodeId },
  );
}

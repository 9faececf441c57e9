import { type NatsConnection } from '@nats-io/transport-node';
import { loadConfigOrExit } from '@pier/config';
import { type PierEvent, subjectsFor } from '@pier/contracts';
import { EventStore } from '@pier/eventstore';
import { connectNats, RpcClient } from '@pier/messaging';
import { createLogger, type Logger } from '@pier/observability';
import { NodeAgent } from './application/node-agent';
import { type InstanceRuntime } from './application/run-instances/instance-runtime';
import { instanceRuntimeSettings } from './config';
import { hollowConfigSchema, type HollowConfig } from './hollow-config';
import { createInstanceRuntime } from './infrastructure/instance-runtime.factory';
import { IdentityMemoryStore } from './infrastructure/memory/identity.memory-store';
import { MemoryDriver } from './infrastructure/memory/memory.driver';
import { NatsControlPlane } from './infrastructure/nats/nats.control-plane';
import { AgentEventCatalog } from './infrastructure/nats/agent-events.catalog';

/**
 * Hollow agents: many real agents (join, heartbeats, assignment feed, instance runtime, reports) in one
 * process, each with an in-memory container engine instead of Docker. They load the control plane like
 * real nodes do, without running anything; benchmarks use them (`bench:scheduler`). One JSON line on
 * stdout per phase: `connected` (before any agent), `ready` (all joined and following their assignments),
 * `stopped`.
 */
const AGENT_VERSION = '0.1.0-hollow';

interface Shared {
  readonly nc: NatsConnection;
  readonly rpc: RpcClient;
  readonly store: EventStore<PierEvent>;
}

interface Hollow {
  readonly agent: NodeAgent;
  readonly driver: MemoryDriver;
  runtime?: InstanceRuntime;
}

function emit(event: string, fields: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ event, ...fields, rssBytes: process.memoryUsage.rss() })}\n`);
}

async function connectShared(config: HollowConfig, index: number): Promise<Shared> {
  const subjects = subjectsFor(config.PIER_PREFIX);
  const nc = await connectNats({
    url: config.PIER_NATS_URL,
    name: `pier-hollow-${config.PIER_HOLLOW_NAME_PREFIX}-${index}`,
  });
  // Assignments are read as the real agent reads them: a stored spec is checked by the runtime, not here.
  const store = await EventStore.open<PierEvent>(nc, subjects, new AgentEventCatalog(), {
    replicas: config.PIER_STREAM_REPLICAS,
  });
  return { nc, rpc: new RpcClient(nc, subjects, config.PIER_AGENT_RPC_TIMEOUT_MS), store };
}

async function startHollow(
  config: HollowConfig,
  shared: Shared,
  index: number,
  logger: Logger,
): Promise<Hollow> {
  const name = `${config.PIER_HOLLOW_NAME_PREFIX}-${index}`;
  const capacity = {
    cpuMillicores: config.PIER_AGENT_CPU_MILLICORES,
    memoryMiB: config.PIER_AGENT_MEMORY_MIB,
  };
  const driver = new MemoryDriver({ hostname: name, capacity });
  const agent = new NodeAgent(
    driver,
    new NatsControlPlane(shared.nc, subjectsFor(config.PIER_PREFIX), shared.rpc),
    new IdentityMemoryStore(),
    {
      joinToken: config.PIER_AGENT_JOIN_TOKEN,
      name,
      labels: config.PIER_AGENT_LABELS,
      zone: config.PIER_AGENT_ZONE,
      agentVersion: AGENT_VERSION,
    },
    logger,
  );
  const hollow: Hollow = { agent, driver };
  const joined = await agent.start();
  hollow.runtime = createInstanceRuntime({
    store: shared.store,
    rpc: shared.rpc,
    driver,
    node: { nodeId: joined.nodeId, credential: agent.credential! },
    settings: instanceRuntimeSettings(config),
    logger,
  });
  await hollow.runtime.start();
  return hollow;
}

/** Runs `work` over 0…count-1 with at most `limit` at once; the first failure rejects. */
async function bounded(count: number, limit: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) await work(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, lane));
}

async function main(): Promise<void> {
  const config = loadConfigOrExit(hollowConfigSchema, 'pier-hollow');
  const logger = createLogger('hollow-agent', config.PIER_LOG_LEVEL);
  const shared: Shared[] = [];
  for (let i = 0; i < config.PIER_HOLLOW_CONNECTIONS; i++) shared.push(await connectShared(config, i));
  emit('connected', { connections: shared.length });

  const hollows: Hollow[] = [];
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    // Stop following, then leave: unlike a real node's, these containers are in memory and vanish with
    // the process, so nothing of the node would be there for a next agent to adopt.
    await bounded(hollows.length, config.PIER_HOLLOW_START_CONCURRENCY, async (i) => {
      const h = hollows[i]!;
      await h.runtime
        ?.shutdown()
        .catch((error: unknown) => logger.warn({ err: error }, 'runtime shutdown failed'));
      await h.agent
        .leave(`hollow agent received ${signal}`)
        .catch((error: unknown) => logger.warn({ err: error }, 'could not leave; the node will be lost'));
      h.agent.disconnect();
    });
    emit('stopped', { agents: hollows.length });
    for (const s of shared) await s.nc.drain().catch(() => undefined);
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));

  const started = Date.now();
  await bounded(config.PIER_HOLLOW_COUNT, config.PIER_HOLLOW_START_CONCURRENCY, async (i) => {
    if (stopping) return;
    hollows.push(await startHollow(config, shared[i % shared.length]!, i, logger));
  });
  if (stopping) return;
  emit('ready', { agents: hollows.length, startMs: Date.now() - started });
}

main().catch((error: unknown) => {
  process.stderr.write(
    `pier-hollow: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});

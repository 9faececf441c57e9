import { createServer } from 'node:http';
import { loadConfigOrExit } from '@pier/config';
import { type PierEvent, subjectsFor } from '@pier/contracts';
import { EventStore } from '@pier/eventstore';
import { connectNats, RpcClient } from '@pier/messaging';
import { createLogger, createMetricsRegistry, Gauge, initTelemetry, type Logger } from '@pier/observability';
import { AgentStartError, NodeAgent } from './application/node-agent';
import { agentConfigSchema, installationOf, instanceRuntimeSettings } from './config';
import { type InstanceRuntime } from './application/run-instances/instance-runtime';
import { LostStarts } from './infrastructure/docker/lost-starts';
import { DockerDriver } from './infrastructure/docker/docker.driver';
import { createInstanceRuntime } from './infrastructure/instance-runtime.factory';
import { IdentityFileStore } from './infrastructure/fs/identity.file-store';
import { AgentEventCatalog } from './infrastructure/nats/agent-events.catalog';
import { NatsControlPlane } from './infrastructure/nats/nats.control-plane';
import { RouterPresence } from './infrastructure/nats/router-presence';

const AGENT_VERSION = '0.1.0';

const USAGE = `usage: node main.js [leave]
  (none)  join (PIER_AGENT_JOIN_TOKEN) or rejoin the cluster and run this node's instances until SIGTERM;
          stopping keeps the node in the cluster and its containers running, for the next agent to adopt
  leave   leave the cluster for good: rejoin, leave (the node becomes \`left\` and its instances are placed
          elsewhere), remove this node's containers, exit. Drain the node first to move them without downtime.
`;

async function main(): Promise<void> {
  const [command, ...extra] = process.argv.slice(2);
  if ((command !== undefined && command !== 'leave') || extra.length > 0) {
    process.stderr.write(USAGE);
    process.exit(2);
  }
  const leaveNow = command === 'leave';
  const config = loadConfigOrExit(agentConfigSchema, 'pier-agent');
  const identities = new IdentityFileStore(config.PIER_AGENT_STATE_DIR);
  if (leaveNow && !(await identities.read())?.clusterId) {
    process.stderr.write(
      `pier-agent: leave: this node has not joined a cluster (no identity in ${config.PIER_AGENT_STATE_DIR})\n`,
    );
    process.exit(3);
  }
  const telemetry = initTelemetry({
    serviceName: 'pier-agent',
    otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
  });
  const logger = createLogger('agent', config.PIER_LOG_LEVEL);
  exitOnEscapedErrors(logger);
  const subjects = subjectsFor(config.PIER_PREFIX);
  const nc = await connectNats({
    url: config.PIER_NATS_URL,
    name: `pier-agent-${config.PIER_AGENT_NAME ?? 'node'}`,
  });
  const containerdSocket = LostStarts.containerdSocketFor(
    config.PIER_AGENT_CONTAINERD_SOCKET,
    config.DOCKER_HOST,
  );
  const ctrProblem = containerdSocket ? await LostStarts.ctrProblem(containerdSocket) : null;
  if (ctrProblem && config.PIER_AGENT_CONTAINERD_SOCKET) {
    process.stderr.write(
      `pier-agent: PIER_AGENT_CONTAINERD_SOCKET=${config.PIER_AGENT_CONTAINERD_SOCKET}: ctr does not answer there: ${ctrProblem}\n`,
    );
    process.exit(2);
  }
  if (ctrProblem) {
    logger.error(
      { detail: ctrProblem },
      "containerd's client ctr does not answer: a container start cut by an engine restart will leave its containerd task behind",
    );
  }
  const lostStarts = new LostStarts({ containerdSocket: ctrProblem ? null : containerdSocket, logger });
  const driver = new DockerDriver({
    dockerHost: config.DOCKER_HOST,
    installation: installationOf(config),
    teardownConcurrency: config.PIER_AGENT_TEARDOWN_CONCURRENCY,
    // A remote engine's processes are not on this machine.
    ...(LostStarts.localEngine(config.DOCKER_HOST) ? { lostStarts } : {}),
  });
  const rpc = new RpcClient(nc, subjects, config.PIER_AGENT_RPC_TIMEOUT_MS);
  const registry = createMetricsRegistry('agent');
  const agent = new NodeAgent(
    driver,
    new NatsControlPlane(nc, subjects, rpc),
    identities,
    {
      joinToken: config.PIER_AGENT_JOIN_TOKEN,
      name: config.PIER_AGENT_NAME,
      labels: config.PIER_AGENT_LABELS,
      zone: config.PIER_AGENT_ZONE,
      agentVersion: AGENT_VERSION,
      cpuMillicores: config.PIER_AGENT_CPU_MILLICORES,
      memoryMiB: config.PIER_AGENT_MEMORY_MIB,
    },
    logger,
  );

  let runtime: InstanceRuntime | undefined;
  let stopping = false;
  /** Leaves the cluster, then waits until the runtime has removed every instance; false if it failed. */
  const leaveCluster = async (reason: string): Promise<boolean> => {
    try {
      await agent.leave(reason);
    } catch (error) {
      logger.error({ err: error }, 'could not leave the cluster');
      return false;
    }
    if (!runtime) return true;
    const vacated = await runtime.vacated(config.PIER_AGENT_LEAVE_TIMEOUT_MS);
    if (!vacated) {
      logger.error(
        { timeoutMs: config.PIER_AGENT_LEAVE_TIMEOUT_MS },
        'left the cluster, but instances of this node still run (is the scheduler running?)',
      );
    }
    return vacated;
  };
  const shutdown = async (why: string, leave: boolean) => {
    if (stopping) return;
    stopping = true;
    logger.info({ why, leave }, leave ? 'leaving the cluster' : 'stopping; the node stays in the cluster');
    const code = leave && !(await leaveCluster(why)) ? 1 : 0;
    // Runners detach: containers keep running (only an unassignment stops an instance), for the next
    // agent to adopt within the node-lost window.
    await runtime
      ?.shutdown()
      .catch((error: unknown) => logger.warn({ err: error }, 'runtime shutdown failed'));
    agent.disconnect();
    await nc.drain().catch(() => undefined);
    await telemetry.shutdown().catch(() => undefined);
    if (leave && code === 0) process.stderr.write(`pier-agent: left the cluster (${why})\n`);
    process.exit(code);
  };
  const onSignal = (signal: string) =>
    void shutdown(
      config.PIER_AGENT_LEAVE_ON_STOP
        ? `agent received ${signal} with PIER_AGENT_LEAVE_ON_STOP=true`
        : `agent received ${signal}`,
      config.PIER_AGENT_LEAVE_ON_STOP,
    );
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  if (leaveNow) {
    // Rejoining waits out an unreachable control plane, and leaving needs the scheduler: the command
    // gives up rather than wait forever.
    setTimeout(() => {
      logger.fatal('leave: the control plane did not complete the leave in time');
      process.stderr.write('pier-agent: leave: gave up waiting for the control plane\n');
      process.exit(1);
    }, 2 * config.PIER_AGENT_LEAVE_TIMEOUT_MS).unref();
  }

  try {
    const joined = await agent.start();
    const store = await EventStore.open<PierEvent>(nc, subjects, new AgentEventCatalog(), {
      replicas: config.PIER_STREAM_REPLICAS,
    });
    runtime = createInstanceRuntime({
      store,
      rpc,
      driver,
      node: { nodeId: joined.nodeId, credential: agent.credential! },
      settings: instanceRuntimeSettings(config),
      logger,
      metrics: registry,
      routers: new RouterPresence().start(nc, subjects),
    });
    await runtime.start();
    if (leaveNow) {
      await shutdown('leave command', true);
      return;
    }
  } catch (error) {
    const code = error instanceof AgentStartError ? error.exitCode : 1;
    logger.fatal({ err: error }, 'agent could not start');
    process.stderr.write(`pier-agent: ${(error as Error).message}\n`);
    await nc.close().catch(() => undefined);
    process.exit(code);
  }

  if (config.PIER_AGENT_METRICS_PORT !== undefined) {
    new Gauge({
      name: 'pier_agent_heartbeats_sent',
      help: 'Heartbeats sent since start',
      registers: [registry],
      collect() {
        this.set(agent.heartbeatsSent);
      },
    });
    createServer((req, res) => {
      if (req.url === '/metrics') {
        void registry
          .metrics()
          .then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text));
      } else if (req.url === '/healthz') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      } else {
        res.writeHead(404).end();
      }
    }).listen(config.PIER_AGENT_METRICS_PORT, '127.0.0.1');
  }
}

/**
 * Nothing a tenant sends may end the agent: every failure of a probe, hook or engine call is a report
 * about its instance. An error that still escapes is a bug, after which the process state is unknown: it
 * is logged with its stack, and the process exits for its supervisor (deploy/local/agent.sh, systemd…) to
 * start a fresh one, which adopts the running containers.
 */
function exitOnEscapedErrors(logger: Logger): void {
  const fail = (kind: string) => (error: unknown) => {
    logger.fatal({ err: error }, `${kind}: the agent exits (its containers keep running)`);
    process.stderr.write(
      `pier-agent: ${kind}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(70);
  };
  process.on('uncaughtException', fail('uncaught exception'));
  process.on('unhandledRejection', fail('unhandled rejection'));
}

main().catch((error: unknown) => {
  process.stderr.write(
    `pier-agent: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});

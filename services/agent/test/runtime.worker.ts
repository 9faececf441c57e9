/**
 * The agent's instance runtime in a process of its own, wired like the agent's main (its event catalog,
 * the real Docker driver, JetStream, RPC) for the node of a test's RuntimeHarness (WORKER_PREFIX,
 * WORKER_NODE_ID, WORKER_CREDENTIAL). Prints READY once it follows its assignments; exits 0 after a clean
 * shutdown on SIGTERM, and prints CRASH and exits 70 if any error escapes (see worker-process.ts).
 */
import { type PierEvent, subjectsFor } from '@pier/contracts';
import { EventStore } from '@pier/eventstore';
import { RpcClient } from '@pier/messaging';
import { createLogger } from '@pier/observability';
import { connectTestNats } from '@pier/testing';
import { DockerDriver } from '../src/infrastructure/docker/docker.driver';
import { createInstanceRuntime } from '../src/infrastructure/instance-runtime.factory';
import { AgentEventCatalog } from '../src/infrastructure/nats/agent-events.catalog';
import { exitOnEscapedErrors } from './worker-process';

exitOnEscapedErrors();

async function main(): Promise<void> {
  const env = (name: string) => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set`);
    return value;
  };
  const nodeId = env('WORKER_NODE_ID');
  const subjects = subjectsFor(env('WORKER_PREFIX'));
  const nc = await connectTestNats(`runtime-worker-${nodeId}`);
  const store = await EventStore.open<PierEvent>(nc, subjects, new AgentEventCatalog());
  const runtime = createInstanceRuntime({
    store,
    rpc: new RpcClient(nc, subjects, 2000),
    driver: new DockerDriver(),
    node: { nodeId, credential: env('WORKER_CREDENTIAL') },
    settings: {
      advertiseHost: '127.0.0.1',
      // Slower than the harness's: hostile containers that keep failing should not flood the engine.
      backoff: { baseMs: 1000, capMs: 8000, resetAfterMs: 60_000 },
      reconcileIntervalMs: 300,
      drainTimeoutMs: 1000,
      strayGraceSeconds: 1,
    },
    logger: createLogger('runtime-worker', 'warn'),
  });
  process.once('SIGTERM', () => {
    void runtime
      .shutdown()
      .then(() => nc.close())
      .then(() => process.exit(0));
  });
  await runtime.start();
  process.stdout.write('READY\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`START FAILED: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});

import { connect, type NatsConnection } from '@nats-io/transport-node';

/**
 * Connects to NATS and keeps reconnecting forever: a NATS restart is an outage to ride out, not a
 * reason for a service or an agent to exit.
 */
export async function connectNats(options: {
  url: string;
  name: string;
  timeoutMs?: number;
}): Promise<NatsConnection> {
  return connect({
    servers: options.url.split(',').map((s) => s.trim()),
    name: options.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    reconnectJitter: 100,
    timeout: options.timeoutMs ?? 5000,
    pingInterval: 10_000,
    // A service or agent started before NATS waits for it instead of failing.
    waitOnFirstConnect: true,
    // No stack captured at every request (an Error per RPC and per JetStream publish, a few percent of a
    // service's CPU): a failed request still says its subject; our own errors carry their context.
    noAsyncTraces: true,
  });
}

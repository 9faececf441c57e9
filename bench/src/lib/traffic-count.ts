import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Client } from 'pg';
import { sleep } from './local-platform';

/** Messages published on the NATS server and transactions of the Postgres database, so far. */
export interface TrafficTotals {
  readonly natsMessages: number;
  readonly pgTransactions: number;
  /** When they were read (performance.now()). */
  readonly at: number;
}

/**
 * Counts what the control plane sends its infrastructure: every message published on the NATS server
 * (a wildcard subscription sees requests, replies, events and JetStream API calls alike) and every
 * transaction the Postgres database committed or rolled back (`pg_stat_database`; a statement outside
 * an explicit transaction is one). Both count the whole server and database, so a phase's figure is
 * its count minus the background measured over a quiet window of the same control plane.
 */
export class TrafficCounter {
  private messages = 0;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly pg: Client,
  ) {}

  static async start(natsUrl: string, databaseUrl: string): Promise<TrafficCounter> {
    const nc = await connect({ servers: natsUrl, name: 'bench-traffic-count' });
    const pg = new Client({ connectionString: databaseUrl });
    await pg.connect();
    const counter = new TrafficCounter(nc, pg);
    nc.subscribe('>', { callback: () => void counter.messages++ });
    await nc.flush();
    return counter;
  }

  /** The totals once the database's statistics include what just happened (flushed within 1 s). */
  async totals(): Promise<TrafficTotals> {
    await sleep(1500);
    await this.nc.flush();
    const { rows } = await this.pg.query<{ n: string }>(
      'SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()',
    );
    return { natsMessages: this.messages, pgTransactions: Number(rows[0]!.n), at: performance.now() };
  }

  async stop(): Promise<void> {
    await this.nc.close();
    await this.pg.end();
  }
}

/** Background traffic per second between two readings of a quiet control plane. */
export function rates(before: TrafficTotals, after: TrafficTotals): Rates {
  const seconds = (after.at - before.at) / 1000;
  return {
    natsPerSecond: (after.natsMessages - before.natsMessages) / seconds,
    // Each reading's own query is a transaction.
    pgPerSecond: (after.pgTransactions - before.pgTransactions - 1) / seconds,
  };
}

export interface Rates {
  readonly natsPerSecond: number;
  readonly pgPerSecond: number;
}

/** Per call: what a phase sent beyond the background, between two readings around it. */
export function perCall(
  before: TrafficTotals,
  after: TrafficTotals,
  background: Rates,
  calls: number,
): { natsMessages: number; pgTransactions: number } {
  const seconds = (after.at - before.at) / 1000;
  const messages = after.natsMessages - before.natsMessages - background.natsPerSecond * seconds;
  const transactions = after.pgTransactions - before.pgTransactions - 1 - background.pgPerSecond * seconds;
  return { natsMessages: messages / calls, pgTransactions: transactions / calls };
}

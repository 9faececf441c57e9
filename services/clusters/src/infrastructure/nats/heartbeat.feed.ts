import { type NatsConnection } from '@nats-io/transport-node';
import { type NodeHeartbeat, nodeHeartbeatSchema, type Subjects } from '@pier/contracts';
import { type Logger } from '@pier/observability';
import { type HeartbeatFeed } from '../../application/ports';

/** Heartbeats on core NATS; malformed ones are dropped (and counted in the log at debug level). */
export class NatsHeartbeatFeed implements HeartbeatFeed {
  constructor(
    private readonly connection: NatsConnection,
    private readonly subjects: Subjects,
    private readonly logger: Logger,
  ) {}

  subscribe(onHeartbeat: (heartbeat: NodeHeartbeat) => void): { stop(): void } {
    const subscription = this.connection.subscribe(this.subjects.allHeartbeats, {
      callback: (error, msg) => {
        if (error) return;
        let body: unknown;
        try {
          body = msg.json();
        } catch {
          body = undefined;
        }
        const parsed = nodeHeartbeatSchema.safeParse(body);
        if (!parsed.success || !msg.subject.endsWith(`.${parsed.data.nodeId}`)) {
          this.logger.debug({ subject: msg.subject }, 'malformed heartbeat dropped');
          return;
        }
        onHeartbeat(parsed.data);
      },
    });
    return { stop: () => subscription.unsubscribe() };
  }
}

import {
  InstanceAssigned,
  InstancesAssigned,
  InstanceUnassigned,
  NODE_ASSIGNMENT,
  type NodeAssignmentEvent,
  type PierEvent,
} from '@pier/contracts';
import { DurableConsumer, type EventStore, type StoredEvent } from '@pier/eventstore';
import { type Logger, type Registry } from '@pier/observability';
import { type AssignmentFeed } from '../../application/ports';

/**
 * The node's assignment subject on JetStream. The desired set lives in memory, so every start first
 * reads the whole subject (the agent may have been away, or restarted and forgotten); a durable consumer
 * (`agent-<nodeId>`, one message in flight so order holds), created afresh at each start right after
 * that read, then delivers what comes after. Events it redelivers from before that read are skipped,
 * like a projection's checkpoint.
 */
export class JetStreamAssignmentFeed implements AssignmentFeed {
  private consumer?: DurableConsumer<PierEvent>;
  /** Position of the last event handed over. */
  private applied = 0;

  constructor(
    private readonly store: EventStore<PierEvent>,
    private readonly nodeId: string,
    private readonly logger: Logger,
    private readonly metrics?: Registry,
  ) {}

  async start(onEvent: (event: NodeAssignmentEvent) => void): Promise<void> {
    const deliver = (stored: StoredEvent<PierEvent>) => {
      if (stored.position <= this.applied) return;
      const type = stored.event.type;
      if (
        type === InstanceAssigned.type ||
        type === InstancesAssigned.type ||
        type === InstanceUnassigned.type
      ) {
        onEvent(stored.event as NodeAssignmentEvent);
      }
      this.applied = stored.position;
    };
    const history = await this.store.load(NODE_ASSIGNMENT, this.nodeId);
    history.events.forEach(deliver);
    this.applied = Math.max(this.applied, history.version);
    this.consumer = new DurableConsumer(this.store, {
      name: `agent-${this.nodeId}`,
      filterSubject: this.store.subjects.aggregate(NODE_ASSIGNMENT, this.nodeId),
      maxAckPending: 1,
      startPosition: () => Promise.resolve(this.applied + 1),
      handler: async (stored) => deliver(stored),
      onDeadLetter: async (position) => {
        this.applied = Math.max(this.applied, position);
      },
      logger: this.logger,
      ...(this.metrics ? { metrics: this.metrics } : {}),
    });
    // A consumer left by an earlier life of this agent may hold a message that life never acknowledged
    // (it was killed): with one message in flight, nothing new would come until the server's ack wait
    // ran out. The history just read covers everything up to `applied`, so start afresh after it.
    await this.consumer.delete();
    await this.consumer.start();
    this.logger.info({ nodeId: this.nodeId, position: this.applied }, 'following assignments');
  }

  async caughtUp(): Promise<boolean> {
    return this.applied >= (await this.store.version(NODE_ASSIGNMENT, this.nodeId));
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
  }
}

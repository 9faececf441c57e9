import { INSTANCE, type InstanceEvent, type PierEvent } from '@pier/contracts';
import { type EventStore } from '@pier/eventstore';
import { type InstanceEventLog } from '../../application/ports';

/** Instance facts appended to the instance's own subject. */
export class EventStoreInstanceLog implements InstanceEventLog {
  constructor(private readonly store: EventStore<PierEvent>) {}

  async append(instanceId: string, event: InstanceEvent): Promise<void> {
    await this.store.append(INSTANCE, instanceId, [event], 'any');
  }
}

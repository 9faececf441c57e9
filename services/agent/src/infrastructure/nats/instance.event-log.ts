import { INSTANCE, type InstanceEvent, InstanceStarted, type PierEvent } from '@pier/contracts';
import { type EventStore } from '@pier/eventstore';
import { type InstanceEventLog } from '../../application/ports';

/** Instance facts appended to the instance's own subject. */
export class EventStoreInstanceLog implements InstanceEventLog {
  constructor(private readonly store: EventStore<PierEvent>) {}

  async append(instanceId: string, event: InstanceEvent): Promise<number> {
    return (await this.store.append(INSTANCE, instanceId, [event], 'any')).version;
  }

  async startedContainer(instanceId: string): Promise<string | null> {
    const { events } = await this.store.load(INSTANCE, instanceId);
    const started = events.map((e) => e.event).filter((e) => e.type === InstanceStarted.type);
    const last = started[started.length - 1] as { data: { containerId: string } } | undefined;
    return last?.data.containerId ?? null;
  }
}

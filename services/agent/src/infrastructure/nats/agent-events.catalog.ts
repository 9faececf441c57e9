import {
  defineMessage,
  InstanceAssigned,
  InstancesAssigned,
  MessageCatalog,
  type PierEvent,
  pierEvents,
} from '@pier/contracts';
import { z } from 'zod';

/** `InstanceAssigned` with its spec taken as stored; the runtime checks it (`runnableSpec`). */
const AssignedAsStored = defineMessage(
  InstanceAssigned.type,
  InstanceAssigned.schema.extend({ spec: z.unknown() }),
  { schemaVersion: InstanceAssigned.schemaVersion, upcasters: InstanceAssigned.upcasters },
);

/** `InstancesAssigned` likewise: each assignment's spec taken as stored. */
const BatchAssignedAsStored = defineMessage(
  InstancesAssigned.type,
  InstancesAssigned.schema.extend({
    assignments: z.array(InstanceAssigned.schema.omit({ nodeId: true }).extend({ spec: z.unknown() })).min(1),
  }),
  { schemaVersion: InstancesAssigned.schemaVersion, upcasters: InstancesAssigned.upcasters },
);

/**
 * Pier's events as the agent reads them: like `pierEvents`, except that an assignment's spec is not
 * checked on reading. The agent reads its whole assignment history at start, and one event that does not
 * parse fails that read and the start with it: a spec stored before the API checked specs as it does
 * now (or one no rule foresaw) would keep the node's agent from ever running again. The runtime checks
 * each spec itself and reports one it cannot run as a failure of that instance alone.
 */
export class AgentEventCatalog extends MessageCatalog<PierEvent> {
  constructor() {
    super([AssignedAsStored, BatchAssignedAsStored]);
  }

  override has(type: string): boolean {
    return pierEvents.has(type);
  }

  override versionOf(type: PierEvent['type']): number {
    return pierEvents.versionOf(type);
  }

  override parse(raw: unknown): PierEvent {
    return isAssignment(raw) ? super.parse(raw) : pierEvents.parse(raw);
  }

  override serialize(message: PierEvent): Uint8Array {
    return isAssignment(message) ? super.serialize(message) : pierEvents.serialize(message);
  }
}

const isAssignment = (message: unknown) => {
  const type = (message as { type?: unknown } | null)?.type;
  return type === InstanceAssigned.type || type === InstancesAssigned.type;
};

import { randomUUID } from 'node:crypto';
import {
  type InstanceEvent,
  InstanceFailed,
  InstanceNotReady,
  type PierEvent,
  pierEvents,
} from '@pier/contracts';
import { createLogger } from '@pier/observability';
import { InstanceReports } from './instance-reports';

/** Reports carry tenants' text; what is stored must pass the event's schema and PostgreSQL's text. */
describe('InstanceReports with tenant text', () => {
  const instanceId = randomUUID();
  const stored: InstanceEvent[] = [];
  // Serialised like the event store does: the catalog refuses data its schema does not take.
  const reports = new InstanceReports(
    {
      append: async (_id, event) => {
        const wire = pierEvents.serialize(event as PierEvent);
        return stored.push(pierEvents.parse(JSON.parse(new TextDecoder().decode(wire))) as InstanceEvent);
      },
      startedContainer: async () => null,
    },
    instanceId,
    randomUUID(),
    randomUUID(),
    createLogger('test', 'silent'),
  );

  beforeEach(() => (stored.length = 0));

  it('stores NUL, escape sequences and unpaired surrogates from a probe as escapes', async () => {
    const detail = 'exec ["cat"]: exit code 1: \u0000\u001b[2J\ud800 done';
    reports.report(InstanceNotReady, {
      reason: `readiness probe failed: ${detail}`,
      probe: { kind: 'readiness', ok: false, detail },
    });
    await reports.flush(1000);
    const [event] = stored as Extract<InstanceEvent, { type: 'InstanceNotReady' }>[];
    const shown = 'exec ["cat"]: exit code 1: \\u0000\\u001b[2J\\ud800 done';
    expect(event!.data.reason).toBe(`readiness probe failed: ${shown}`);
    expect(event!.data.probe!.detail).toBe(shown);
  });

  it('drops a report its schema refuses instead of holding up every later one', async () => {
    reports.report(InstanceFailed, { code: 'C'.repeat(51), reason: 'a code longer than events take' });
    reports.report(InstanceNotReady, { reason: 'the next report' });
    await reports.flush(3000);
    expect(stored.map((e) => e.type)).toEqual(['InstanceNotReady']);
  });
});

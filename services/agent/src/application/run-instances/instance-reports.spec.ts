import { randomUUID } from 'node:crypto';
import { type InstanceEvent, InstanceNotReady, InstanceReady } from '@pier/contracts';
import { createLogger } from '@pier/observability';
import { InstanceReports } from './instance-reports';

describe('InstanceReports', () => {
  const instanceId = randomUUID();
  const stored: InstanceEvent[] = [];
  const reports = new InstanceReports(
    { append: async (_id, event) => stored.push(event), startedContainer: async () => null },
    instanceId,
    randomUUID(),
    randomUUID(),
    createLogger('test', 'silent'),
  );

  beforeEach(() => (stored.length = 0));

  it('appends reports in order, about its instance', async () => {
    reports.report(InstanceNotReady, { reason: 'readiness probe failed: exit code 1' });
    reports.report(InstanceReady, {});
    await reports.flush(1000);
    expect(stored.map((e) => [e.type, e.data.instanceId])).toEqual([
      ['InstanceNotReady', instanceId],
      ['InstanceReady', instanceId],
    ]);
  });

  it('knows the stream position of its latest stored report', async () => {
    let position = 40;
    const positioned = new InstanceReports(
      { append: async () => ++position, startedContainer: async () => null },
      instanceId,
      randomUUID(),
      randomUUID(),
      createLogger('test', 'silent'),
    );
    expect(positioned.position).toBeUndefined();
    positioned.report(InstanceReady, {});
    positioned.report(InstanceNotReady, { reason: 'stopping: scaled down' });
    await positioned.flush(1000);
    expect(positioned.position).toBe(42);
  });

  it('cuts a reason longer than events allow, instead of losing the transition', async () => {
    const command = 'x'.repeat(5000);
    reports.report(InstanceNotReady, { reason: `readiness probe failed: exec ["${command}"]: exit code 1` });
    await reports.flush(1000);
    const [event] = stored as Extract<InstanceEvent, { type: 'InstanceNotReady' }>[];
    expect(event!.data.reason).toHaveLength(1000);
    expect(event!.data.reason.startsWith('readiness probe failed: exec ["xxx')).toBe(true);
    expect(event!.data.reason.endsWith('…')).toBe(true);
  });
});

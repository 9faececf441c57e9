import { createLogger } from '@pier/observability';
import { type ContainerDriver, type InstanceEventLog, type NetworkSummary } from '../ports';
import { StrayReaper } from './stray-reaper';

/** A driver that only has networks: their containers are set by the test, removals recorded. */
function networksDriver(networks: NetworkSummary[]) {
  const removed: string[] = [];
  const driver = {
    listNetworks: async () => networks.filter((n) => !removed.includes(n.id)),
    removeUnusedNetwork: async (id: string) => (removed.push(id), true),
  } as unknown as ContainerDriver;
  return { driver, removed };
}

const network = (id: string, createdAt: number, containers: number): NetworkSummary => ({
  id,
  name: `pier-${id}`,
  labels: {},
  createdAt,
  containers,
});

describe('StrayReaper (networks)', () => {
  const events = {} as InstanceEventLog;
  const logger = createLogger('test', 'silent');

  it('keeps a space’s empty network for the idle period since it was last seen in use', async () => {
    let now = 0;
    const used = network('used', 0, 1);
    const never = network('never', 0, 0);
    const { driver, removed } = networksDriver([used, never]);
    const reaper = new StrayReaper(driver, events, 'node', 0, logger, 300, () => now);
    const pass = async (at: number) => {
      now = at;
      reaper.reap([], () => false);
      await reaper.idle();
    };
    await pass(60_000); // in use
    (used as { containers: number }).containers = 0;
    await pass(120_000);
    await pass(299_000);
    expect(removed).toEqual([]);
    // Never seen in use: idle since the agent started (0), so gone after 300 s; the other since 60 s.
    await pass(301_000);
    expect(removed).toEqual(['never']);
    await pass(359_000);
    expect(removed).toEqual(['never']);
    await pass(361_000);
    expect(removed).toEqual(['never', 'used']);
  });

  it('leaves a network younger than the grace alone, whatever the idle period', async () => {
    const { driver, removed } = networksDriver([network('young', Date.now(), 0)]);
    const reaper = new StrayReaper(driver, events, 'node', 0, logger, 0);
    reaper.reap([], () => false);
    await reaper.idle();
    expect(removed).toEqual([]);
  });
});

import { subjectsFor } from './subjects';

describe('subjectsFor', () => {
  const s = subjectsFor('pier');

  it('derives every name from the prefix', () => {
    expect(s.eventStream).toBe('PIER_EVENTS');
    expect(s.aggregate('node', 'abc-1')).toBe('pier.events.clusters.node.abc-1');
    expect(s.aggregateType('node')).toBe('pier.events.clusters.node.*');
    expect(s.aggregate('space', 'acme')).toBe('pier.events.tenancy.space.acme');
    expect(s.context('tenancy')).toBe('pier.events.tenancy.>');
    expect(s.aggregate('counter', 'c1')).toBe('pier.events.other.counter.c1');
    // The scheduler's lease lies outside the runtime context, out of its projections' sight.
    expect(s.aggregate('scheduler-lease', 'scheduler')).toBe(
      'pier.events.scheduling.scheduler-lease.scheduler',
    );
    expect(s.rpc('clusters', 'get-node')).toBe('pier.rpc.clusters.get-node');
    expect(s.heartbeat('c1', 'n1')).toBe('pier.hb.c1.n1');
    expect(subjectsFor('t_x-1').eventStream).toBe('T_X_1_EVENTS');
  });

  it('refuses tokens that would change the subject hierarchy', () => {
    expect(() => s.aggregate('node', 'a.b')).toThrow(/not a valid subject token/);
    expect(() => s.aggregate('node', '*')).toThrow();
    expect(() => subjectsFor('a>b')).toThrow();
  });
});

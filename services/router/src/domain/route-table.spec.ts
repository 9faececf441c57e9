import { type PierEvent } from '@pier/contracts';
import { runtime } from '../../test/support/runtime-events';
import {
  drainInstance,
  emptyRouteTable,
  evolve,
  evolveAll,
  hostsOf,
  inRotation,
  panics,
  type RouteTable,
} from './route-table';

const I1 = '10000000-0000-4000-8000-000000000001';
const I2 = '10000000-0000-4000-8000-000000000002';
const I3 = '10000000-0000-4000-8000-000000000003';

const given = (...events: PierEvent[]): RouteTable => events.reduce(evolve, emptyRouteTable());
const app = (t: RouteTable, id = 'acme_web') => t.apps.get(id)!;
const instance = (t: RouteTable, id: string) => t.instances.get(id)!;
const slots = (t: RouteTable, version = 1) => app(t).versions.get(version)!.slots;

/** An app with version 1 (HTTP on 8080) and instance I1 requested for it. */
const deployed = [
  runtime.appCreated('acme', 'web'),
  runtime.versionCreated('acme', 'web', 1),
  runtime.trafficSet('acme', 'web', { 1: 100 }),
  runtime.instanceRequested(I1, 'acme', 'web', 1),
];

describe('route table', () => {
  describe('apps and hosts', () => {
    it('serves a new app on its default domain, lowercased', () => {
      const t = given(runtime.appCreated('acme', 'web', 'Web.Acme.Pier.Localhost'));
      expect(hostsOf(app(t))).toEqual(['web.acme.pier.localhost']);
      expect(app(t)).toMatchObject({ space: 'acme', app: 'web', deleting: false, stickySessions: false });
    });

    it('adds custom domains once, case-insensitively, and removes them', () => {
      const t = given(
        runtime.appCreated('acme', 'web'),
        runtime.domainAdded('acme', 'web', 'Shop.Example.com'),
        runtime.domainAdded('acme', 'web', 'shop.example.com'),
        runtime.domainAdded('acme', 'web', 'www.example.com'),
      );
      expect(hostsOf(app(t))).toEqual(['web.acme.pier.localhost', 'shop.example.com', 'www.example.com']);
      const after = evolve(t, runtime.domainRemoved('acme', 'web', 'SHOP.example.com'));
      expect(hostsOf(app(after))).toEqual(['web.acme.pier.localhost', 'www.example.com']);
    });

    it('marks an app whose deletion started, and forgets it and its instances once deleted', () => {
      const t = given(...deployed, runtime.deletionRequested('acme', 'web'));
      expect(app(t).deleting).toBe(true);
      const gone = evolve(t, runtime.appDeleted('acme', 'web'));
      expect(gone.apps.size).toBe(0);
      expect(gone.instances.size).toBe(0);
    });

    it('starts afresh when an app of the same name is created again', () => {
      const t = given(...deployed, runtime.appDeleted('acme', 'web'), runtime.appCreated('acme', 'web'));
      expect(app(t).versions.size).toBe(0);
      expect(app(t).weights.size).toBe(0);
    });

    it('leaves the table untouched for events it does not route on', () => {
      const t = given(...deployed);
      expect(evolve(t, runtime.instanceReady(I3))).toBe(t);
      expect(evolve(t, runtime.domainAdded('other', 'app', 'x.example.com'))).toBe(t);
      expect(evolve(t, runtime.instanceRequested(I3, 'other', 'app', 1))).toBe(t);
    });
  });

  describe('versions and weights', () => {
    it('serves the first http port of a version', () => {
      const t = given(
        runtime.appCreated('acme', 'web'),
        runtime.versionCreated('acme', 'web', 1, [
          { containerPort: 9000, protocol: 'tcp' },
          { containerPort: 3000, protocol: 'http' },
          { containerPort: 4000, protocol: 'http' },
        ]),
        runtime.versionCreated('acme', 'web', 2, [{ containerPort: 5353, protocol: 'udp' }]),
      );
      expect(app(t).versions.get(1)!.httpPort).toBe(3000);
      expect(app(t).versions.get(2)!.httpPort).toBeNull();
    });

    it('takes the weights of the latest TrafficSet, in hundredths of a percent', () => {
      const t = given(
        runtime.appCreated('acme', 'web'),
        runtime.trafficSet('acme', 'web', { 1: 100 }),
        runtime.trafficSet('acme', 'web', { 1: 80, 2: 19.99, 3: 0.01 }),
      );
      expect([...app(t).weights]).toEqual([
        [1, 8000],
        [2, 1999],
        [3, 1],
      ]);
    });
  });

  describe('instances', () => {
    it('follows an instance from start to ready, out and back, and through a restart on a new port', () => {
      let t = given(...deployed, runtime.instanceStarted(I1, 41001, { extra: true }));
      expect(instance(t, I1)).toMatchObject({ endpoint: { host: '127.0.0.1', port: 41001 }, ready: false });
      expect(inRotation(instance(t, I1))).toBe(false);
      t = evolve(t, runtime.instanceReady(I1));
      expect(inRotation(instance(t, I1))).toBe(true);
      t = evolve(t, runtime.instanceNotReady(I1));
      expect(inRotation(instance(t, I1))).toBe(false);
      t = evolve(t, runtime.instanceReady(I1));
      t = evolve(t, runtime.instanceExited(I1));
      expect(inRotation(instance(t, I1))).toBe(false);
      t = evolve(t, runtime.instanceStarted(I1, 41002, { restarts: 1 }));
      expect(instance(t, I1)).toMatchObject({ endpoint: { port: 41002 }, ready: false });
      t = evolve(t, runtime.instanceReady(I1));
      expect(inRotation(instance(t, I1))).toBe(true);
      expect(slots(t)).toEqual([I1]);
    });

    it('is in panic when readiness failures leave a version none in rotation, with the running instances that had been ready', () => {
      const started = [
        ...deployed,
        runtime.instanceRequested(I2, 'acme', 'web', 1),
        runtime.instanceStarted(I1, 41001),
        runtime.instanceStarted(I2, 41002),
      ];
      // Nothing was ever ready: no panic, the app simply has no ready instance.
      expect(panics(given(...started))).toEqual([]);
      let t = given(...started, runtime.instanceReady(I1));
      expect(panics(t)).toEqual([]);
      t = evolve(t, runtime.instanceNotReady(I1));
      expect(panics(t)).toEqual([{ space: 'acme', app: 'web', version: 1, instances: 1 }]);
      expect(panics(evolve(t, runtime.instanceReady(I2)))).toEqual([]);
      expect(panics(evolve(t, runtime.instanceExited(I1)))).toEqual([]);
      expect(panics(evolve(t, runtime.stopRequested(I1)))).toEqual([]);
      expect(panics(evolve(t, runtime.deletionRequested('acme', 'web')))).toEqual([]);
      // Ready again after a restart, then failing: in panic again.
      const again = [runtime.instanceStarted(I1, 41003, { restarts: 1 }), runtime.instanceReady(I1)];
      expect(panics(evolveAll(t, [...again, runtime.instanceNotReady(I1)]))).toHaveLength(1);
    });

    it('takes a stopping instance out for good, and forgets it once stopped', () => {
      let t = given(...deployed, runtime.instanceStarted(I1, 41001), runtime.instanceReady(I1));
      t = evolve(t, runtime.stopRequested(I1));
      expect(instance(t, I1).stopping).toBe(true);
      expect(inRotation(evolve(t, runtime.instanceReady(I1)).instances.get(I1)!)).toBe(false);
      t = evolve(t, runtime.instanceStopped(I1));
      expect(t.instances.has(I1)).toBe(false);
      expect(slots(t)).toEqual([null]);
    });

    it('gives an instance the lowest free slot and never moves or shrinks slots', () => {
      let t = given(
        ...deployed,
        runtime.instanceRequested(I2, 'acme', 'web', 1),
        runtime.instanceRequested(I3, 'acme', 'web', 1),
        runtime.instanceStarted(I1, 41001),
        runtime.instanceStarted(I2, 41002),
        runtime.instanceStarted(I3, 41003),
      );
      expect(slots(t)).toEqual([I1, I2, I3]);
      t = evolve(t, runtime.instanceStopped(I1));
      t = evolve(t, runtime.instanceFailed(I3));
      expect(slots(t)).toEqual([null, I2, null]);
      t = evolve(t, runtime.instanceStarted(I3, 41004, { restarts: 1 }));
      expect(slots(t)).toEqual([I3, I2, null]);
    });

    it('gives no endpoint and no slot to an instance of a version without an http port', () => {
      const t = given(
        runtime.appCreated('acme', 'web'),
        runtime.versionCreated('acme', 'web', 1, [{ containerPort: 5432, protocol: 'tcp' }]),
        runtime.instanceRequested(I1, 'acme', 'web', 1),
        runtime.instanceStarted(I1, 41001, { containerPort: 5432 }),
        runtime.instanceReady(I1),
      );
      expect(instance(t, I1).endpoint).toBeNull();
      expect(inRotation(instance(t, I1))).toBe(false);
      expect(slots(t)).toEqual([]);
    });

    it('numbers instances the same way on every replay', () => {
      const history = [
        ...deployed,
        runtime.instanceRequested(I2, 'acme', 'web', 1),
        runtime.instanceStarted(I2, 41002),
        runtime.instanceStarted(I1, 41001),
      ];
      expect(slots(given(...history))).toEqual(slots(given(...history)));
      expect(slots(given(...history))).toEqual([I2, I1]);
    });

    it('drains an instance without an event, and does not change the table it was given', () => {
      const before = given(...deployed, runtime.instanceStarted(I1, 41001), runtime.instanceReady(I1));
      const after = drainInstance(before, I1);
      expect(inRotation(instance(after, I1))).toBe(false);
      expect(inRotation(instance(before, I1))).toBe(true);
      expect(drainInstance(after, I1)).toBe(after);
    });
  });

  describe('replay', () => {
    it('folds a batch to the same table as one event at a time, leaving the tables it was given alone', () => {
      const history = [
        ...deployed,
        runtime.instanceRequested(I2, 'acme', 'web', 1),
        runtime.instanceStarted(I1, 41001),
        runtime.instanceStarted(I2, 41002),
        runtime.instanceReady(I1),
        runtime.domainAdded('acme', 'web', 'a.example.com'),
        runtime.instanceStopped(I1),
        runtime.instanceRequested(I3, 'acme', 'web', 1),
        runtime.instanceStarted(I3, 41003),
        runtime.appCreated('acme', 'api'),
      ];
      const start = given(runtime.appCreated('other', 'app'));
      const snapshot = JSON.stringify([...start.apps], (_k, v: unknown) => (v instanceof Map ? [...v] : v));
      expect(evolveAll(start, history)).toEqual(history.reduce(evolve, start));
      expect(JSON.stringify([...start.apps], (_k, v: unknown) => (v instanceof Map ? [...v] : v))).toBe(
        snapshot,
      );
      expect(start.instances.size).toBe(0);
      expect(evolveAll(start, [])).toBe(start);
    });
  });

  describe('sticky sessions', () => {
    it('are off for a new app and follow the latest AppStickySessionsSet', () => {
      expect(app(given(runtime.appCreated('acme', 'web'))).stickySessions).toBe(false);
      const on = given(runtime.appCreated('acme', 'web'), runtime.stickySessionsSet('acme', 'web', true));
      expect(app(on).stickySessions).toBe(true);
      expect(app(evolve(on, runtime.stickySessionsSet('acme', 'web', false))).stickySessions).toBe(false);
    });

    it('leave the table as it was when the setting does not change or the app is unknown', () => {
      const off = given(runtime.appCreated('acme', 'web'));
      expect(evolve(off, runtime.stickySessionsSet('acme', 'web', false))).toBe(off);
      expect(evolve(off, runtime.stickySessionsSet('acme', 'other', true))).toBe(off);
    });

    it('touch only their app, and start off again when the app is created anew', () => {
      const t = given(
        ...deployed,
        runtime.appCreated('acme', 'api'),
        runtime.stickySessionsSet('acme', 'web', true),
      );
      expect(app(t).stickySessions).toBe(true);
      expect(app(t, 'acme_api').stickySessions).toBe(false);
      expect(app(t).versions.get(1)).toBeDefined();
      const again = evolveAll(t, [runtime.appDeleted('acme', 'web'), runtime.appCreated('acme', 'web')]);
      expect(app(again).stickySessions).toBe(false);
    });
  });
});

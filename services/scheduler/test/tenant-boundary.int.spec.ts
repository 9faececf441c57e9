import {
  AddDomain,
  CreateApp,
  CreateVersion,
  DeleteApp,
  DOMAIN,
  ListApps,
  PierError,
  RemoveDomain,
  ScaleVersion,
  SetQuota,
  unlimitedQuota,
  versionSpecSchema,
} from '@pier/contracts';
import { expectEventually } from '@pier/testing';
import { domainKey } from '../src/application/domains/domain-claims';
import { SchedulerHarness } from './scheduler-harness';

const BASE = 'pier.localhost';

/**
 * What a hostile tenant tried against the scheduler: other apps' hosts, claims for apps that do not
 * exist, and parallel deploys past the quota. The real scheduler and auth service, NATS and Postgres.
 */
describe('scheduler: domains and quotas hold against a hostile tenant', () => {
  const h = new SchedulerHarness('scheduler-boundary');
  const { caller } = h;

  beforeAll(async () => {
    await h.setUp();
    await expectEventually(() =>
      h.rpc.call(CreateApp, { space: 'acme', app: 'web', cluster: 'main' }, caller),
    );
  });

  afterAll(() => h.tearDown());

  const codeOf = async (promise: Promise<unknown>): Promise<string> => {
    try {
      await promise;
    } catch (error) {
      if (error instanceof PierError) return error.code;
      throw error;
    }
    return 'OK';
  };
  const addDomain = (app: string, host: string, platformAdmin = false) =>
    h.rpc.call(AddDomain, { space: 'acme', app, host, platformAdmin }, caller);
  const holder = async (host: string) => {
    const { events } = await h.store.load(DOMAIN, domainKey(host));
    const last = events.at(-1)?.event;
    return last?.type === 'DomainClaimed' ? `${last.data.space}/${last.data.app}` : null;
  };

  describe('domains', () => {
    it('claims an app’s default domain when the app is created, and releases it on deletion', async () => {
      expect(await holder(`web.acme.${BASE}`)).toBe('acme/web');
      await h.rpc.call(CreateApp, { space: 'acme', app: 'gone', cluster: 'main' }, caller);
      expect(await holder(`gone.acme.${BASE}`)).toBe('acme/gone');
      await h.rpc.call(DeleteApp, { space: 'acme', app: 'gone' }, caller);
      expect(await holder(`gone.acme.${BASE}`)).toBeNull();
    });

    it('refuses hosts in another space’s namespace, to everyone', async () => {
      expect(await codeOf(addDomain('web', `web.victim.${BASE}`))).toBe('DOMAIN_RESERVED');
      expect(await codeOf(addDomain('web', `api.web.victim.${BASE}`))).toBe('DOMAIN_RESERVED');
      expect(await codeOf(addDomain('web', `web.victim.${BASE}`, true))).toBe('DOMAIN_RESERVED');
      expect(await holder(`web.victim.${BASE}`)).toBeNull();
    });

    it('keeps default-domain-shaped hosts of its own space for the app of that name', async () => {
      expect(await codeOf(addDomain('web', `future.acme.${BASE}`))).toBe('DOMAIN_RESERVED');
      await h.rpc.call(CreateApp, { space: 'acme', app: 'future', cluster: 'main' }, caller);
      expect(await holder(`future.acme.${BASE}`)).toBe('acme/future');
    });

    it('lets a space use deeper hosts of its own namespace, and only admins other base-domain hosts', async () => {
      expect((await addDomain('web', `api.web.acme.${BASE}`)).domains).toContain(`api.web.acme.${BASE}`);
      expect(await codeOf(addDomain('web', `shop.${BASE}`))).toBe('DOMAIN_RESERVED');
      expect(await codeOf(addDomain('web', BASE))).toBe('DOMAIN_RESERVED');
      expect((await addDomain('web', `shop.${BASE}`, true)).domains).toContain(`shop.${BASE}`);
    });

    it('stores no claim for an app that does not exist', async () => {
      expect(await codeOf(addDomain('ghost', 'squat.example.com'))).toBe('APP_NOT_FOUND');
      expect(await holder('squat.example.com')).toBeNull();
      expect((await addDomain('web', 'squat.example.com')).domains).toContain('squat.example.com');
    });

    it('adds and removes the longest valid host', async () => {
      const label = (c: string) => c.repeat(63);
      const host = `${label('a')}.${label('b')}.${label('c')}.${'d'.repeat(57)}.com`;
      expect(host).toHaveLength(253);
      expect((await addDomain('web', host)).domains).toContain(host);
      const after = await h.rpc.call(RemoveDomain, { space: 'acme', app: 'web', host }, caller);
      expect(after.domains).not.toContain(host);
      expect(await holder(host)).toBeNull();
    });
  });

  describe('quotas', () => {
    const quota = (q: Partial<typeof unlimitedQuota>) =>
      h.rpc.call(SetQuota, { space: 'acme', quota: { ...unlimitedQuota, ...q } }, caller);
    afterEach(() => quota({}));

    it('lets exactly as many parallel deploys through as the quota has room for', async () => {
      const apps = ['q1', 'q2', 'q3', 'q4', 'q5', 'q6'];
      for (const app of apps) {
        await h.rpc.call(CreateApp, { space: 'acme', app, cluster: 'main' }, caller);
        await h.rpc.call(
          CreateVersion,
          {
            space: 'acme',
            app,
            spec: versionSpecSchema.parse({
              image: 'pier/busybox:latest',
              resources: { cpu: 10, memory: 8 },
            }),
            platformAdmin: false,
          },
          caller,
        );
      }
      await h.rpc.call(
        ScaleVersion,
        { space: 'acme', app: 'q1', version: 1, instances: 1, reason: 'deploy' },
        caller,
      );
      await quota({ maxInstances: 3 });
      const outcomes = await Promise.all(
        apps
          .slice(1)
          .map((app) =>
            codeOf(
              h.rpc.call(
                ScaleVersion,
                { space: 'acme', app, version: 1, instances: 1, reason: 'deploy' },
                caller,
              ),
            ),
          ),
      );
      expect(outcomes.filter((o) => o === 'OK')).toHaveLength(2);
      expect(outcomes.filter((o) => o === 'QUOTA_EXCEEDED')).toHaveLength(3);
    });

    it('lets exactly as many parallel app creations through as maxApps allows', async () => {
      const { items } = await h.rpc.call(ListApps, { space: 'acme', limit: 100 }, caller);
      await quota({ maxApps: items.length + 2 });
      const outcomes = await Promise.all(
        ['r1', 'r2', 'r3', 'r4', 'r5'].map((app) =>
          codeOf(h.rpc.call(CreateApp, { space: 'acme', app, cluster: 'main' }, caller)),
        ),
      );
      expect(outcomes.filter((o) => o === 'OK')).toHaveLength(2);
      expect(outcomes.filter((o) => o === 'QUOTA_EXCEEDED')).toHaveLength(3);
    });
  });
});

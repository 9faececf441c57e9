import { APP, appId, CreateApp, GetApp, ListAppEvents, ListApps, SetStickySessions } from '@pier/contracts';
import { expectEventually, queryDatabase, rejectedCode } from '@pier/testing';
import { SchedulerHarness } from './scheduler-harness';

/**
 * Sticky sessions through the scheduler's RPC surface: the events it appends, the read model's column
 * (migration and projection) and the app's activity feed. With the real auth service (a process).
 */
describe('scheduler sticky sessions (real NATS and Postgres)', () => {
  const h = new SchedulerHarness('scheduler-sticky');
  const { caller } = h;

  beforeAll(async () => {
    await h.setUp();
  });

  afterAll(() => h.tearDown());

  const eventTypes = async (name: string) =>
    (await h.store.load(APP, appId('acme', name))).events.map((e) => e.event.type);
  const feed = async (name: string) =>
    (await h.rpc.call(ListAppEvents, { space: 'acme', app: name }, caller)).items.map((e) => e.summary);

  it('adds the column to apps, off by default', async () => {
    const [column] = await queryDatabase(
      h.url,
      `SELECT data_type, is_nullable, column_default FROM information_schema.columns
       WHERE table_schema = $1 AND table_name = 'apps' AND column_name = 'sticky_sessions'`,
      [h.prefix],
    );
    expect(column).toEqual({ data_type: 'boolean', is_nullable: 'NO', column_default: 'false' });
  });

  it('creates an app without sticky sessions by default, with AppCreated alone', async () => {
    // The world learns of the cluster asynchronously: retry until it has.
    const created = await expectEventually(() =>
      h.rpc.call(CreateApp, { space: 'acme', app: 'plain', cluster: 'main' }, caller),
    );
    expect(created.stickySessions).toBe(false);
    expect(await eventTypes('plain')).toEqual(['AppCreated']);
  });

  it('creates an app with sticky sessions when asked, as AppCreated then AppStickySessionsSet', async () => {
    const created = await expectEventually(() =>
      h.rpc.call(CreateApp, { space: 'acme', app: 'shop', cluster: 'main', stickySessions: true }, caller),
    );
    expect(created.stickySessions).toBe(true);
    expect(await eventTypes('shop')).toEqual(['AppCreated', 'AppStickySessionsSet']);
    expect((await h.rpc.call(GetApp, { space: 'acme', app: 'shop' }, caller)).stickySessions).toBe(true);
    expect(await feed('shop')).toEqual(['sticky sessions on', 'app created']);
  });

  it('switches sticky sessions, appending an event only when the setting changes', async () => {
    await expectEventually(() =>
      h.rpc.call(CreateApp, { space: 'acme', app: 'web', cluster: 'main' }, caller),
    );
    const set = (enabled: boolean) =>
      h.rpc.call(SetStickySessions, { space: 'acme', app: 'web', enabled }, caller);
    expect((await set(true)).stickySessions).toBe(true);
    expect((await set(true)).stickySessions).toBe(true);
    const listed = await h.rpc.call(ListApps, { space: 'acme' }, caller);
    expect(listed.items.find((a) => a.name === 'web')?.stickySessions).toBe(true);
    expect((await set(false)).stickySessions).toBe(false);
    expect(await eventTypes('web')).toEqual(['AppCreated', 'AppStickySessionsSet', 'AppStickySessionsSet']);
    expect(await feed('web')).toEqual(['sticky sessions off', 'sticky sessions on', 'app created']);
  });

  it('answers APP_NOT_FOUND for an app that does not exist', async () => {
    expect(
      await rejectedCode(
        h.rpc.call(SetStickySessions, { space: 'acme', app: 'nope', enabled: true }, caller),
      ),
    ).toBe('APP_NOT_FOUND');
  });
});

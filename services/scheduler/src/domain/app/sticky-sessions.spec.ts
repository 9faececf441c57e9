import { type AppEvent } from '@pier/contracts';
import { rejectionCode } from '@pier/testing';
import { type CommandContext } from '../clock';
import { completeDeletion, createApp, requestDeletion, setStickySessions } from './app.decide';
import { type AppState, evolveApp } from './app.state';

const CLUSTER = '11111111-1111-4111-8111-111111111111';
const ctx: CommandContext = {
  cause: { messageId: 'm', correlationId: 'c', actor: { kind: 'user', id: 'u' } },
  now: '2026-01-01T00:00:00.000Z',
};
const ref = { space: 'acme', app: 'web' };
const newApp = { ...ref, clusterId: CLUSTER, defaultDomain: 'web.acme.pier.localhost' };
const given = (...events: AppEvent[]): AppState | null => events.reduce(evolveApp, null);
const created = createApp(null, newApp, ctx);
const turnedOn = setStickySessions(given(...created), { ...ref, enabled: true }, ctx);

describe('sticky sessions', () => {
  it('are off for a new app, which is created with AppCreated alone', () => {
    expect(created.map((e) => e.type)).toEqual(['AppCreated']);
    expect(created[0]!.data).toEqual(newApp);
    expect(given(...created)!.stickySessions).toBe(false);
  });

  it('are on from the start when asked for at creation, without changing AppCreated', () => {
    const events = createApp(null, { ...newApp, stickySessions: true }, ctx);
    expect(events.map((e) => [e.type, e.data])).toEqual([
      ['AppCreated', newApp],
      ['AppStickySessionsSet', { ...ref, enabled: true }],
    ]);
    expect(new Set(events.map((e) => e.metadata.messageId)).size).toBe(2);
    expect(given(...events)!.stickySessions).toBe(true);
    expect(createApp(null, { ...newApp, stickySessions: false }, ctx).map((e) => e.type)).toEqual([
      'AppCreated',
    ]);
  });

  it('turn on and off with AppStickySessionsSet', () => {
    expect(turnedOn.map((e) => [e.type, e.data])).toEqual([
      ['AppStickySessionsSet', { ...ref, enabled: true }],
    ]);
    expect(given(...created, ...turnedOn)!.stickySessions).toBe(true);
    const off = setStickySessions(given(...created, ...turnedOn), { ...ref, enabled: false }, ctx);
    expect(off.map((e) => [e.type, e.data])).toEqual([['AppStickySessionsSet', { ...ref, enabled: false }]]);
    expect(given(...created, ...turnedOn, ...off)!.stickySessions).toBe(false);
  });

  it('change nothing when set to what they already are', () => {
    expect(setStickySessions(given(...created), { ...ref, enabled: false }, ctx)).toEqual([]);
    expect(setStickySessions(given(...created, ...turnedOn), { ...ref, enabled: true }, ctx)).toEqual([]);
  });

  it('cannot be set on a missing app or one being deleted', () => {
    expect(rejectionCode(() => setStickySessions(null, { ...ref, enabled: true }, ctx))).toBe(
      'APP_NOT_FOUND',
    );
    const deleting = requestDeletion(given(...created), ref, ctx);
    expect(
      rejectionCode(() => setStickySessions(given(...created, ...deleting), { ...ref, enabled: true }, ctx)),
    ).toBe('APP_DELETING');
  });

  it('start off again when an app of the same name is created after a deletion', () => {
    const deleting = [...created, ...turnedOn, ...requestDeletion(given(...created, ...turnedOn), ref, ctx)];
    const history = [...deleting, ...completeDeletion(given(...deleting), { liveInstances: 0 }, ctx)];
    expect(history.map((e) => e.type)).toContain('AppDeleted');
    const again = createApp(given(...history), newApp, ctx);
    expect(given(...history, ...again)!.stickySessions).toBe(false);
  });
});

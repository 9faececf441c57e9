import { type SpaceEvent } from '@pier/contracts';
import { rejectionCode } from '@pier/testing';
import { type CommandContext } from '../clock';
import {
  completeSpaceDeletion,
  createSpace,
  deleteSpace,
  removeMember,
  setMember,
  setQuota,
  updateSpace,
} from './space.decide';
import { evolveSpace, type SpaceState } from './space.state';

const ALICE = '11111111-1111-4111-8111-111111111111';
const BOB = '22222222-2222-4222-8222-222222222222';
const ctx: CommandContext = {
  cause: { messageId: 'm', correlationId: 'c', actor: { kind: 'user', id: ALICE } },
  now: '2026-01-01T00:00:00.000Z',
};
const given = (...events: SpaceEvent[]): SpaceState | null => events.reduce(evolveSpace, null);
const created = createSpace(
  null,
  { name: 'acme', kind: 'organization', displayName: 'Acme', ownerId: ALICE },
  ctx,
);
const personal = createSpace(
  null,
  { name: 'alice', kind: 'personal', displayName: 'Alice', ownerId: ALICE },
  ctx,
);

const empty = { name: 'acme', cascade: false, contents: { apps: 0, secrets: 0 } };
/** An empty space deleted: the request and its completion. */
const deleted = (state: SpaceState | null): SpaceEvent[] => {
  const requested = deleteSpace(state, empty, ctx);
  return [
    ...requested,
    ...completeSpaceDeletion(given(...created, ...requested), { remaining: { apps: 0, secrets: 0 } }, ctx),
  ];
};

describe('space decisions', () => {
  it('creates a space with its creator as owner, and refuses a taken name', () => {
    expect(created.map((e) => e.type)).toEqual(['SpaceCreated', 'SpaceMemberSet']);
    expect(given(...created)!.members[ALICE]!.role).toBe('owner');
    expect(
      rejectionCode(() =>
        createSpace(
          given(...created),
          { name: 'acme', kind: 'organization', displayName: 'x', ownerId: BOB },
          ctx,
        ),
      ),
    ).toBe('SPACE_NAME_TAKEN');
  });

  it('lets a deleted space’s name be taken again, starting from nothing but the default quota', () => {
    const quota = { maxApps: 5, maxInstances: null, maxCpuMillicores: null, maxMemoryMiB: null };
    const withQuota = setQuota(given(...created), { name: 'acme', quota }, ctx);
    const history = [...created, ...withQuota, ...deleted(given(...created, ...withQuota))];
    expect(
      rejectionCode(() =>
        createSpace(
          given(...history.slice(0, -1)),
          { name: 'acme', kind: 'organization', displayName: 'New', ownerId: BOB },
          ctx,
        ),
      ),
    ).toBe('SPACE_DELETING');
    const fresh = { ...quota, maxApps: 1 };
    const again = createSpace(
      given(...history),
      { name: 'acme', kind: 'organization', displayName: 'New', ownerId: BOB, quota: fresh },
      ctx,
    );
    expect(again.map((e) => e.type)).toEqual(['SpaceCreated', 'SpaceMemberSet', 'SpaceQuotaSet']);
    const space = given(...history, ...again)!;
    expect(Object.keys(space.members)).toEqual([BOB]);
    expect(space.quota).toEqual(fresh);
  });

  it('refuses to delete a space that holds apps or secrets, unless asked to cascade', () => {
    const holding = { apps: 2, secrets: 1 };
    expect(
      rejectionCode(() =>
        deleteSpace(given(...created), { name: 'acme', cascade: false, contents: holding }, ctx),
      ),
    ).toBe('SPACE_NOT_EMPTY');
    const requested = deleteSpace(given(...created), { name: 'acme', cascade: true, contents: holding }, ctx);
    expect(requested.map((e) => e.type)).toEqual(['SpaceDeletionRequested']);
    const deleting = given(...created, ...requested);
    expect(deleteSpace(deleting, { name: 'acme', cascade: true, contents: holding }, ctx)).toEqual([]);
    expect(rejectionCode(() => setMember(deleting, { name: 'acme', userId: BOB, role: 'owner' }, ctx))).toBe(
      'SPACE_NOT_FOUND',
    );
    expect(completeSpaceDeletion(deleting, { remaining: { apps: 1, secrets: 0 } }, ctx)).toEqual([]);
    const done = completeSpaceDeletion(deleting, { remaining: { apps: 0, secrets: 0 } }, ctx);
    expect(done.map((e) => e.type)).toEqual(['SpaceDeleted']);
    expect(given(...created, ...requested, ...done)!.deleted).toBe(true);
  });

  it('never demotes or removes the last owner, but does once there is another', () => {
    expect(
      rejectionCode(() =>
        setMember(given(...created), { name: 'acme', userId: ALICE, role: 'developer' }, ctx),
      ),
    ).toBe('LAST_OWNER');
    expect(rejectionCode(() => removeMember(given(...created), { name: 'acme', userId: ALICE }, ctx))).toBe(
      'LAST_OWNER',
    );
    const bobOwner = setMember(given(...created), { name: 'acme', userId: BOB, role: 'owner' }, ctx);
    expect(
      setMember(given(...created, ...bobOwner), { name: 'acme', userId: ALICE, role: 'auditor' }, ctx),
    ).toHaveLength(1);
    expect(removeMember(given(...created, ...bobOwner), { name: 'acme', userId: ALICE }, ctx)).toHaveLength(
      1,
    );
  });

  it('treats the same role again as done, and removing a non-member as not found', () => {
    expect(setMember(given(...created), { name: 'acme', userId: ALICE, role: 'owner' }, ctx)).toEqual([]);
    expect(rejectionCode(() => removeMember(given(...created), { name: 'acme', userId: BOB }, ctx))).toBe(
      'MEMBER_NOT_FOUND',
    );
  });

  it('keeps personal spaces, and refuses changes to missing or deleted spaces', () => {
    expect(rejectionCode(() => deleteSpace(given(...personal), { ...empty, name: 'alice' }, ctx))).toBe(
      'PERSONAL_SPACE',
    );
    expect(
      rejectionCode(() =>
        updateSpace(
          given(...created, ...deleted(given(...created))),
          { name: 'acme', displayName: 'x' },
          ctx,
        ),
      ),
    ).toBe('SPACE_NOT_FOUND');
    expect(rejectionCode(() => setMember(null, { name: 'acme', userId: BOB, role: 'developer' }, ctx))).toBe(
      'SPACE_NOT_FOUND',
    );
  });

  it('sets a quota once', () => {
    const quota = { maxApps: 3, maxInstances: null, maxCpuMillicores: 2000, maxMemoryMiB: null };
    const set = setQuota(given(...created), { name: 'acme', quota }, ctx);
    expect(given(...created, ...set)!.quota).toEqual(quota);
    expect(setQuota(given(...created, ...set), { name: 'acme', quota }, ctx)).toEqual([]);
  });
});

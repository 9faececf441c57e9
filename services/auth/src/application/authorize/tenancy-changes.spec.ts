import { endsAuthorizations } from './tenancy-changes';

const of = (...types: string[]) => types.map((type) => ({ event: { type } as never }));

describe('endsAuthorizations', () => {
  it.each(['SessionEnded', 'ApiTokenRevoked', 'SpaceMemberSet', 'SpaceMemberRemoved', 'SpaceCreated'])(
    'is true after %s',
    (type) => expect(endsAuthorizations(of('SessionStarted', type))).toBe(true),
  );

  it.each(['SpaceUpdated', 'SpaceDeletionRequested', 'SpaceDeleted', 'UserPasswordChanged'])(
    'is true after %s',
    (type) => expect(endsAuthorizations(of(type))).toBe(true),
  );

  it('is true after an event it does not know', () => {
    expect(endsAuthorizations(of('SomethingNew'))).toBe(true);
  });

  it('is false after events that only add credentials or change what authorization does not read', () => {
    expect(
      endsAuthorizations(
        of('UserRegistered', 'SessionStarted', 'SessionRefreshed', 'ApiTokenCreated', 'SecretStored'),
      ),
    ).toBe(false);
    expect(endsAuthorizations([])).toBe(false);
  });
});

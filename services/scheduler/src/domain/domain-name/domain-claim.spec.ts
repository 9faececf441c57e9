import { createMessage, DomainClaimed, type DomainEvent, PierError } from '@pier/contracts';
import { assertMayClaim, claimDomain, type DomainState, evolveDomain, releaseDomain } from './domain-claim';

const cause = { messageId: 'm', correlationId: 'c', actor: { kind: 'user' as const, id: 'u' } };
const ctx = { cause, now: '2026-01-01T00:00:00.000Z' };
const base = 'pier.localhost';
const given = (events: DomainEvent[]): DomainState | null =>
  events.reduce<DomainState | null>(evolveDomain, null);
const claimed = (space: string, app: string, host = 'shop.example.com') =>
  createMessage(DomainClaimed, { host, space, app }, cause, ctx.now);
const codeOf = (work: () => unknown): string | undefined => {
  try {
    work();
  } catch (error) {
    return error instanceof PierError ? error.code : 'THREW';
  }
  return undefined;
};

describe('which hosts an app may claim', () => {
  const asAcmeWeb = (host: string, platformAdmin = false) =>
    codeOf(() => assertMayClaim(host, { space: 'acme', app: 'web', baseDomain: base, platformAdmin }));

  it('leaves hosts outside the base domain to whoever claims them first', () => {
    expect(asAcmeWeb('shop.example.com')).toBeUndefined();
    expect(asAcmeWeb(`evil${base}`)).toBeUndefined();
  });

  it('never gives a host in another space’s namespace, not even to an admin', () => {
    expect(asAcmeWeb(`web.beta.${base}`)).toBe('DOMAIN_RESERVED');
    expect(asAcmeWeb(`a.b.beta.${base}`, true)).toBe('DOMAIN_RESERVED');
  });

  it('keeps <app>.<space>.<base> for the app of that name', () => {
    expect(asAcmeWeb(`api.acme.${base}`)).toBe('DOMAIN_RESERVED');
    expect(asAcmeWeb(`web.acme.${base}`)).toBeUndefined();
  });

  it('lets a space use the deeper hosts of its own namespace', () => {
    expect(asAcmeWeb(`v2.web.acme.${base}`)).toBeUndefined();
  });

  it('keeps the rest of the base domain for platform admins', () => {
    expect(asAcmeWeb(`shop.${base}`)).toBe('DOMAIN_RESERVED');
    expect(asAcmeWeb(base)).toBe('DOMAIN_RESERVED');
    expect(asAcmeWeb(`shop.${base}`, true)).toBeUndefined();
  });
});

describe('claiming and releasing a host', () => {
  const ref = { host: 'shop.example.com', space: 'acme', app: 'web' };

  it('claims a free host', () => {
    expect(claimDomain(given([]), ref, ctx).map((e) => e.type)).toEqual(['DomainClaimed']);
  });

  it('changes nothing when the app holds it already', () => {
    expect(claimDomain(given([claimed('acme', 'web')]), ref, ctx)).toEqual([]);
  });

  it('refuses a host another app holds', () => {
    expect(codeOf(() => claimDomain(given([claimed('beta', 'web')]), ref, ctx))).toBe('DOMAIN_TAKEN');
  });

  it('releases only the holder’s own claim', () => {
    expect(releaseDomain(given([claimed('beta', 'web')]), ref, ctx)).toEqual([]);
    expect(releaseDomain(given([claimed('acme', 'web')]), ref, ctx).map((e) => e.type)).toEqual([
      'DomainReleased',
    ]);
  });
});

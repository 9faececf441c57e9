import { createMessage, DomainClaimed, type DomainEvent, DomainReleased, PierError } from '@pier/contracts';
import { type CommandContext } from '../clock';

/** Who holds a host: the app whose claim stands, if any. */
export interface DomainState {
  readonly host: string;
  readonly holder: { readonly space: string; readonly app: string } | null;
}

export function evolveDomain(_state: DomainState | null, event: DomainEvent): DomainState | null {
  if (event.type === 'DomainClaimed')
    return { host: event.data.host, holder: { space: event.data.space, app: event.data.app } };
  return { host: event.data.host, holder: null };
}

/** What a claim is checked against: the app asking, who asks, and the platform's base domain. */
export interface ClaimContext {
  readonly space: string;
  readonly app: string;
  readonly baseDomain: string;
  readonly platformAdmin: boolean;
}

/**
 * Which host names an app may ask for, before anyone's claim is looked at. Under the base domain, every
 * host `…<label>.<space>.<base>` lies in the namespace of `<space>`, and `<app>.<space>.<base>` is the
 * default domain of `<app>` (existing or future), so:
 * - a default-domain-shaped host belongs to that app alone (it is claimed when the app is created);
 * - deeper hosts in a space's namespace (`api.web.acme.<base>`) are for that space's apps only;
 * - any other host under the base domain (`x.<base>`, the base itself) is for platform admins;
 * - hosts outside the base domain are first come, first served.
 * Nobody, admins included, takes a host inside another space's namespace.
 */
export function assertMayClaim(host: string, ctx: ClaimContext): void {
  const base = ctx.baseDomain;
  if (host !== base && !host.endsWith(`.${base}`)) return;
  const labels = host === base ? [] : host.slice(0, -(base.length + 1)).split('.');
  const space = labels.at(-1);
  if (labels.length >= 2 && space !== ctx.space) {
    throw reserved(host, `${host} lies in the namespace of space ${space}`, { space });
  }
  if (labels.length === 2 && labels[0] !== ctx.app) {
    throw reserved(host, `${host} is the default domain of app ${labels[0]} of ${space}`, {
      space,
      app: labels[0],
    });
  }
  if (labels.length < 2 && !ctx.platformAdmin) {
    throw reserved(
      host,
      `only platform admins may use hosts under ${base} outside a space's namespace (*.<space>.${base})`,
      {},
    );
  }
}

/** Claims a host for an app; claiming one's own host again changes nothing. */
export function claimDomain(
  state: DomainState | null,
  cmd: { host: string; space: string; app: string },
  ctx: CommandContext,
): DomainEvent[] {
  const holder = state?.holder;
  if (holder && holder.space === cmd.space && holder.app === cmd.app) return [];
  if (holder) throw new PierError('DOMAIN_TAKEN', `${cmd.host} is used by another app`, { host: cmd.host });
  return [createMessage(DomainClaimed, cmd, ctx.cause, ctx.now)];
}

/** Releases a host, but only the holder's own claim: a release never frees someone else's host. */
export function releaseDomain(
  state: DomainState | null,
  cmd: { host: string; space: string; app: string },
  ctx: CommandContext,
): DomainEvent[] {
  const holder = state?.holder;
  if (!holder || holder.space !== cmd.space || holder.app !== cmd.app) return [];
  return [createMessage(DomainReleased, { host: cmd.host }, ctx.cause, ctx.now)];
}

function reserved(host: string, message: string, details: Record<string, unknown>): PierError {
  return new PierError('DOMAIN_RESERVED', message, { host, ...details });
}

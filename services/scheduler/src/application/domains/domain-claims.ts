import { createHash } from 'node:crypto';
import { type Cause, DOMAIN, type DomainEvent, type PierEvent } from '@pier/contracts';
import { EventSourcedRepository, type EventStore, execute } from '@pier/eventstore';
import {
  claimDomain,
  type DomainState,
  evolveDomain,
  releaseDomain,
} from '../../domain/domain-name/domain-claim';

/** The aggregate id of a host: its SHA-256 (a host may hold characters a subject token may not). */
export const domainKey = (host: string): string => createHash('sha256').update(host).digest('hex');

/**
 * Host names as aggregates: one subject per host, so two apps racing for a host are decided by the
 * event store's optimistic concurrency, whichever replica serves them.
 */
export class DomainClaims {
  private readonly domains: EventSourcedRepository<DomainState, DomainEvent, PierEvent>;

  constructor(store: EventStore<PierEvent>) {
    this.domains = new EventSourcedRepository(store, DOMAIN, evolveDomain);
  }

  /** Claims `host` for the app; `DOMAIN_TAKEN` when another app holds it. */
  async claim(cmd: { host: string; space: string; app: string }, cause: Cause): Promise<void> {
    const ctx = { cause, now: new Date().toISOString() };
    await execute(this.domains, domainKey(cmd.host), (s) => claimDomain(s, cmd, ctx), evolveDomain);
  }

  /** Releases `host` if the app holds it. */
  async release(cmd: { host: string; space: string; app: string }, cause: Cause): Promise<void> {
    const ctx = { cause, now: new Date().toISOString() };
    await execute(this.domains, domainKey(cmd.host), (s) => releaseDomain(s, cmd, ctx), evolveDomain);
  }
}

import { createHash } from 'node:crypto';
import { type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { Authorize, type RpcResponse, type Subjects } from '@pier/contracts';
import { type RpcClient, watchConnection } from '@pier/messaging';
import { counter, type Counter, type Registry } from '@pier/observability';
import { AuthorizationCache } from '../domain/authorization-cache';

export type Authorization = RpcResponse<typeof Authorize>;

/**
 * Asks the auth service who a credential is and what they may do in a space, and reuses its answer
 * (`AuthorizationCache`) until the credential expires, `ttlMs` passes, or the auth service says the
 * tenancy changed (`Subjects.tenancyChanged`). That word is published once the auth read model holds
 * the change, before the command that made it answers, on the connection it answers on: so a request
 * sent after a revocation was answered is never authorized from an answer given before it. Losing the
 * NATS connection (words may be lost with it) forgets everything, as does every word.
 *
 * Credentials are kept only as their SHA-256; failed authentications are never kept.
 */
export class Authorizer {
  private readonly cache: AuthorizationCache<Authorization>;
  private readonly lookups: Counter<'outcome'>;
  private readonly invalidations: Counter<'cause'>;
  private subscription?: Subscription;

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly rpc: RpcClient,
    options: { readonly ttlMs: number; readonly maxEntries: number },
    metrics: Registry,
  ) {
    this.cache = new AuthorizationCache(options);
    this.lookups = counter(metrics, {
      name: 'pier_api_authorization_lookups_total',
      help: 'Authorizations of API requests, by outcome: hit (a kept answer of the auth service) or asked',
      labelNames: ['outcome'],
    });
    this.invalidations = counter(metrics, {
      name: 'pier_api_authorization_invalidations_total',
      help: 'Times every kept authorization was dropped, by cause (tenancy-changed, connection)',
      labelNames: ['cause'],
    });
  }

  /** Subscribes to the auth service's word; the gateway authorizes nothing before this resolves. */
  async start(): Promise<void> {
    this.subscription = this.nc.subscribe(this.subjects.tenancyChanged, {
      callback: () => this.invalidate('tenancy-changed'),
    });
    watchConnection(
      this.nc,
      () => this.invalidate('connection'),
      () => this.invalidate('connection'),
    );
    await this.nc.flush();
  }

  stop(): void {
    this.subscription?.unsubscribe();
    this.invalidate('connection');
  }

  async authorize(credential: string, space: string | null, correlationId: string): Promise<Authorization> {
    const key = `${createHash('sha256').update(credential).digest('base64')}\n${space ?? ''}`;
    const kept = this.cache.get(key);
    if (kept) {
      this.lookups.inc({ outcome: 'hit' });
      return kept;
    }
    this.lookups.inc({ outcome: 'asked' });
    const ticket = this.cache.ticket();
    const answer = await this.rpc.call(
      Authorize,
      { credential, space },
      { actor: { kind: 'anonymous', id: 'anonymous' }, correlationId },
    );
    this.cache.put(key, answer, Date.parse(answer.validUntil), ticket);
    return answer;
  }

  private invalidate(cause: 'tenancy-changed' | 'connection'): void {
    this.cache.invalidate();
    this.invalidations.inc({ cause });
  }
}

import { type PierEvent } from '@pier/contracts';

/**
 * Tenancy events that cannot make an authorization given before them wrong: they add a credential or
 * a user that nobody was authorized with yet, move an expiry later (an answer reused until the earlier
 * one only ends sooner), or change what authorization does not read. Every other event — and any event
 * added later, until it is listed here — ends the authorizations given before it.
 */
const KEEPS_AUTHORIZATIONS: ReadonlySet<string> = new Set([
  'UserEmailReserved',
  'UserRegistered',
  'SessionStarted',
  'SessionRefreshed',
  'ApiTokenCreated',
  'SpaceQuotaSet',
  'SecretStored',
  'SecretDeleted',
]);

/** Whether, once `events` are in the read model, authorizations given before them may no longer hold. */
export function endsAuthorizations(events: readonly { readonly event: Pick<PierEvent, 'type'> }[]): boolean {
  return events.some(({ event }) => !KEEPS_AUTHORIZATIONS.has(event.type));
}

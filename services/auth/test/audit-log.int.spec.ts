import { randomUUID } from 'node:crypto';
import {
  AUDIT,
  AuditRecorded,
  AuditRequestAccepted,
  createMessage,
  ListAudit,
  type PierEvent,
  pierEvents,
  subjectsFor,
} from '@pier/contracts';
import { EventStore } from '@pier/eventstore';
import { expectEventually } from '@pier/testing';
import { type AuthHarness, startAuth } from './auth-harness';

/** The audit read model from intents and outcomes, against real NATS and Postgres. */
describe('audit log read model (real NATS and Postgres)', () => {
  let auth: AuthHarness;
  let store: EventStore<PierEvent>;

  beforeAll(async () => {
    auth = await startAuth('audit-log');
    store = await EventStore.open(auth.nc, subjectsFor(auth.prefix), pierEvents);
  });

  afterAll(() => auth?.close());

  const request = {
    action: 'createSecret',
    method: 'POST',
    path: '/api/v1/spaces/acme/secrets',
    space: 'acme',
  };
  const cause = () => ({
    messageId: randomUUID(),
    correlationId: randomUUID(),
    actor: { kind: 'user' as const, id: 'u-1' },
  });
  const entries = async () =>
    (await auth.rpc.call(ListAudit, { space: null, limit: 100 }, auth.caller)).items;

  it('shows an accepted request as pending until its outcome completes the same row', async () => {
    const requestId = randomUUID();
    const by = cause();
    await store.append(
      AUDIT,
      'acme',
      [
        createMessage(
          AuditRequestAccepted,
          { ...request, requestId, target: { space: 'acme' }, ip: '10.0.0.1' },
          by,
          new Date().toISOString(),
        ),
      ],
      'any',
    );
    await expectEventually(async () =>
      expect(await entries()).toContainEqual(
        expect.objectContaining({ correlationId: by.correlationId, outcome: 'pending', status: 0 }),
      ),
    );
    await store.append(
      AUDIT,
      'acme',
      [
        createMessage(
          AuditRecorded,
          {
            ...request,
            requestId,
            target: { space: 'acme', name: 'db' },
            status: 201,
            outcome: 'succeeded',
            errorCode: null,
            ip: '10.0.0.1',
          },
          { ...by, messageId: randomUUID() },
          new Date().toISOString(),
        ),
      ],
      'any',
    );
    await expectEventually(async () => {
      const mine = (await entries()).filter((e) => e.correlationId === by.correlationId);
      expect(mine).toEqual([
        expect.objectContaining({ outcome: 'succeeded', status: 201, target: { space: 'acme', name: 'db' } }),
      ]);
    });
  });

  it('keeps records of a single outcome (refused requests, records older than intents) as they were', async () => {
    const by = cause();
    await store.append(
      AUDIT,
      'acme',
      [
        createMessage(
          AuditRecorded,
          { ...request, target: {}, status: 403, outcome: 'denied', errorCode: 'FORBIDDEN', ip: null },
          by,
          new Date().toISOString(),
        ),
      ],
      'any',
    );
    await expectEventually(async () =>
      expect(await entries()).toContainEqual(
        expect.objectContaining({ correlationId: by.correlationId, outcome: 'denied', status: 403 }),
      ),
    );
  });
});

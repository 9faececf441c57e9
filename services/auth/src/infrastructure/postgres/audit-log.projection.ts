import { type PierEvent, type Subjects } from '@pier/contracts';
import { type StoredEvent } from '@pier/eventstore';
import { type Projection } from '@pier/persistence';
import { type EntityManager } from 'typeorm';

/**
 * The audit log: one row per mutating API request. A request the caller was authorized for arrives as
 * its intent (`AuditRequestAccepted`, written before anything acted on it: the row reads `pending`) and
 * is completed by its outcome (`AuditRecorded` with the same request id). Requests refused before being
 * accepted, and records older than intents, arrive as an outcome alone.
 */
export const auditProjection = (subjects: Subjects): Projection<PierEvent> => ({
  name: 'audit-log',
  filterSubject: subjects.context('audit'),
  tables: ['audit_log'],
  apply: ({ event, position }: StoredEvent<PierEvent>, m: EntityManager) =>
    applyAuditEvent(event, position, m),
});

const COLUMNS =
  'position, at, actor_kind, actor_id, correlation_id, action, method, path, space, target, status, outcome, error_code, ip, request_id';

async function applyAuditEvent(event: PierEvent, position: number, m: EntityManager): Promise<void> {
  const md = event.metadata;
  const common = (d: {
    action: string;
    method: string;
    path: string;
    space: string | null;
    target: Record<string, string>;
  }) => [
    position,
    md.occurredAt,
    md.actor.kind,
    md.actor.id,
    md.correlationId,
    d.action,
    d.method,
    d.path,
    d.space,
    JSON.stringify(d.target),
  ];
  switch (event.type) {
    case 'AuditRequestAccepted': {
      const d = event.data;
      await m.query(
        `INSERT INTO audit_log (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, 'pending', NULL, $11, $12)`,
        [...common(d), d.ip, d.requestId],
      );
      return;
    }
    case 'AuditRecorded': {
      const d = event.data;
      // The outcome completes its intent's row when there is one, else it is a row of its own.
      await m.query(
        `WITH completed AS (
           UPDATE audit_log SET status = $11::int, outcome = $12::text, error_code = $13::text, target = $10::jsonb
           WHERE $15::uuid IS NOT NULL AND request_id = $15::uuid RETURNING 1)
         INSERT INTO audit_log (${COLUMNS})
         SELECT $1::bigint, $2::timestamptz, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text,
                $9::text, $10::jsonb, $11::int, $12::text, $13::text, $14::text, $15::uuid
         WHERE NOT EXISTS (SELECT 1 FROM completed)`,
        [...common(d), d.status, d.outcome, d.errorCode, d.ip, d.requestId ?? null],
      );
      return;
    }
    default:
      return;
  }
}

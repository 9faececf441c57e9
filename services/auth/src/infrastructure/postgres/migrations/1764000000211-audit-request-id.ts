import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * An audit row may begin as the intent of a request (`AuditRequestAccepted`, outcome `pending`) and be
 * completed by its outcome, found by the request id both records carry.
 */
export class AuditRequestId1764000000211 implements MigrationInterface {
  name = 'AuditRequestId1764000000211';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE audit_log ADD COLUMN request_id uuid');
    await q.query(
      'CREATE UNIQUE INDEX audit_log_request ON audit_log (request_id) WHERE request_id IS NOT NULL',
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX audit_log_request');
    await q.query('ALTER TABLE audit_log DROP COLUMN request_id');
  }
}

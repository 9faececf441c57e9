import { type MigrationInterface, type QueryRunner } from 'typeorm';

export class TenancyReadModel1764000000200 implements MigrationInterface {
  name = 'TenancyReadModel1764000000200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE users (
      id uuid PRIMARY KEY, email text NOT NULL UNIQUE, display_name text NOT NULL, platform_role text NOT NULL,
      personal_space text NOT NULL, created_at timestamptz NOT NULL)`);
    await q.query(`CREATE TABLE sessions (
      id uuid PRIMARY KEY, user_id uuid NOT NULL, expires_at timestamptz NOT NULL, ended boolean NOT NULL)`);
    await q.query(`CREATE TABLE api_tokens (
      id uuid PRIMARY KEY, user_id uuid NOT NULL, name text NOT NULL, secret_sha256 text NOT NULL, spaces jsonb,
      expires_at timestamptz, revoked boolean NOT NULL, created_at timestamptz NOT NULL)`);
    await q.query('CREATE INDEX api_tokens_user ON api_tokens (user_id)');
    await q.query(`CREATE TABLE spaces (
      name text PRIMARY KEY, kind text NOT NULL, display_name text NOT NULL, quota jsonb NOT NULL,
      created_at timestamptz NOT NULL, deleted boolean NOT NULL)`);
    await q.query(`CREATE TABLE space_members (
      space text NOT NULL, user_id uuid NOT NULL, role text NOT NULL, since timestamptz NOT NULL,
      PRIMARY KEY (space, user_id))`);
    await q.query('CREATE INDEX space_members_user ON space_members (user_id)');
    await q.query(`CREATE TABLE secrets (
      space text NOT NULL, name text NOT NULL, kind text NOT NULL, metadata jsonb NOT NULL, version integer NOT NULL,
      created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, PRIMARY KEY (space, name))`);
    await q.query(`CREATE TABLE audit_log (
      position bigint PRIMARY KEY, at timestamptz NOT NULL, actor_kind text NOT NULL, actor_id text NOT NULL,
      correlation_id text NOT NULL, action text NOT NULL, method text NOT NULL, path text NOT NULL, space text,
      target jsonb NOT NULL, status integer NOT NULL, outcome text NOT NULL, error_code text, ip text)`);
    await q.query('CREATE INDEX audit_log_space_at ON audit_log (space, at)');
    await q.query('CREATE INDEX audit_log_actor ON audit_log (actor_id)');
    await q.query('CREATE INDEX audit_log_action ON audit_log (action)');
    // Operational state, not a read model: failed logins for throttling, kept for the window only.
    await q.query(
      'CREATE TABLE login_failures (id bigserial PRIMARY KEY, key text NOT NULL, at timestamptz NOT NULL)',
    );
    await q.query('CREATE INDEX login_failures_key_at ON login_failures (key, at)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      'DROP TABLE login_failures, audit_log, secrets, space_members, spaces, api_tokens, sessions, users',
    );
  }
}

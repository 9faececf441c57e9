import { type MigrationInterface, type QueryRunner } from 'typeorm';

export class ClustersReadModel1764000000100 implements MigrationInterface {
  name = 'ClustersReadModel1764000000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "clusters" (
      "id" uuid NOT NULL, "name" text NOT NULL, "description" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      CONSTRAINT "PK_clusters" PRIMARY KEY ("id"))`);
    await q.query(`CREATE UNIQUE INDEX "IDX_clusters_name" ON "clusters" ("name")`);
    await q.query(`CREATE TABLE "join_tokens" (
      "id" uuid NOT NULL, "cluster_id" uuid NOT NULL, "description" text NOT NULL,
      "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "max_uses" integer, "uses" integer NOT NULL,
      "revoked" boolean NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      CONSTRAINT "PK_join_tokens" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "IDX_join_tokens_cluster_id" ON "join_tokens" ("cluster_id")`);
    await q.query(`CREATE TABLE "nodes" (
      "id" uuid NOT NULL, "cluster_id" uuid NOT NULL, "name" text NOT NULL, "hostname" text NOT NULL,
      "liveness" text NOT NULL, "scheduling" text NOT NULL, "labels" jsonb NOT NULL, "zone" text NOT NULL,
      "cpu_millicores" integer NOT NULL, "memory_mib" integer NOT NULL, "engine" jsonb NOT NULL,
      "agent_version" text NOT NULL, "joined_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      CONSTRAINT "PK_nodes" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "IDX_nodes_cluster_id" ON "nodes" ("cluster_id")`);
    await q.query(`CREATE INDEX "IDX_nodes_name_id" ON "nodes" ("name", "id")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE "nodes"');
    await q.query('DROP TABLE "join_tokens"');
    await q.query('DROP TABLE "clusters"');
  }
}

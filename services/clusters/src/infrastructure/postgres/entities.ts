import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

@Entity({ name: 'clusters' })
export class ClusterRow {
  @PrimaryColumn('uuid') id!: string;
  @Index({ unique: true }) @Column('text') name!: string;
  @Column('text') description!: string;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
}

@Entity({ name: 'join_tokens' })
export class JoinTokenRow {
  @PrimaryColumn('uuid') id!: string;
  @Index() @Column('uuid', { name: 'cluster_id' }) clusterId!: string;
  @Column('text') description!: string;
  @Column('timestamptz', { name: 'expires_at' }) expiresAt!: Date;
  @Column('int', { name: 'max_uses', nullable: true }) maxUses!: number | null;
  @Column('int') uses!: number;
  @Column('boolean') revoked!: boolean;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
}

@Entity({ name: 'nodes' })
@Index(['name', 'id'])
export class NodeRow {
  @PrimaryColumn('uuid') id!: string;
  @Index() @Column('uuid', { name: 'cluster_id' }) clusterId!: string;
  @Column('text') name!: string;
  @Column('text') hostname!: string;
  @Column('text') liveness!: 'up' | 'lost' | 'left';
  @Column('text') scheduling!: 'schedulable' | 'cordoned' | 'draining';
  @Column('jsonb') labels!: Record<string, string>;
  @Column('text') zone!: string;
  @Column('int', { name: 'cpu_millicores' }) cpuMillicores!: number;
  @Column('int', { name: 'memory_mib' }) memoryMiB!: number;
  @Column('jsonb') engine!: { driver: string; version: string; os: string; arch: string; kernel: string };
  @Column('text', { name: 'agent_version' }) agentVersion!: string;
  @Column('timestamptz', { name: 'joined_at' }) joinedAt!: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt!: Date;
}

export const clustersEntities = [ClusterRow, JoinTokenRow, NodeRow];

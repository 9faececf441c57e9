import { z } from 'zod';
import {
  capacitySchema,
  dnsLabelSchema,
  engineSchema,
  idSchema,
  isoDateTime,
  labelsSchema,
  zoneSchema,
} from '../primitives';
import { plainText } from '../text';
import { defineRpc } from './rpc';

const SERVICE = 'clusters';

export const clusterViewSchema = z.object({
  id: idSchema,
  name: z.string(),
  description: z.string(),
  /** `pending` until a node has joined, then `ready`. */
  state: z.enum(['pending', 'ready']),
  nodeCount: z.number().int(),
  readyNodeCount: z.number().int(),
  createdAt: isoDateTime,
});
export type ClusterView = z.infer<typeof clusterViewSchema>;

export const joinTokenViewSchema = z.object({
  id: idSchema,
  clusterId: idSchema,
  description: z.string(),
  state: z.enum(['active', 'expired', 'revoked', 'exhausted']),
  expiresAt: isoDateTime,
  maxUses: z.number().int().nullable(),
  uses: z.number().int(),
  createdAt: isoDateTime,
});
export type JoinTokenView = z.infer<typeof joinTokenViewSchema>;

export const nodeStateSchema = z.enum(['ready', 'cordoned', 'draining', 'lost', 'left']);
export type NodeState = z.infer<typeof nodeStateSchema>;

export const nodeViewSchema = z.object({
  id: idSchema,
  clusterId: idSchema,
  name: z.string(),
  hostname: z.string(),
  /** `lost` and `left` win over scheduling; otherwise `draining`, `cordoned` or `ready`. */
  state: nodeStateSchema,
  liveness: z.enum(['up', 'lost', 'left']),
  scheduling: z.enum(['schedulable', 'cordoned', 'draining']),
  labels: labelsSchema,
  zone: z.string(),
  capacity: capacitySchema,
  engine: engineSchema,
  agentVersion: z.string(),
  joinedAt: isoDateTime,
  updatedAt: isoDateTime,
  lastSeenAt: isoDateTime.nullable(),
});
export type NodeView = z.infer<typeof nodeViewSchema>;

export const pageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** Opaque: the `nextCursor` of the previous page (base64url; each read model checks what it holds). */
  cursor: z
    .string()
    .max(512)
    .regex(/^[A-Za-z0-9_-]+$/, 'must be the nextCursor of a previous page')
    .optional(),
});

const page = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });

export const CreateCluster = defineRpc({
  service: SERVICE,
  name: 'create-cluster',
  kind: 'command',
  request: z.object({ name: dnsLabelSchema, description: plainText(500, 0).default('') }).strict(),
  response: clusterViewSchema,
});

export const ListClusters = defineRpc({
  service: SERVICE,
  name: 'list-clusters',
  kind: 'query',
  request: pageQuerySchema,
  response: page(clusterViewSchema),
});

export const GetCluster = defineRpc({
  service: SERVICE,
  name: 'get-cluster',
  kind: 'query',
  request: z.object({ clusterId: idSchema }),
  response: clusterViewSchema,
});

export const CreateJoinToken = defineRpc({
  service: SERVICE,
  name: 'create-join-token',
  kind: 'command',
  request: z
    .object({
      clusterId: idSchema,
      /** Lifetime of the token: 1 second to 30 days, 1 hour by default. */
      ttlSeconds: z
        .number()
        .int()
        .min(1)
        .max(30 * 24 * 3600)
        .default(3600),
      /** How many nodes may join with it; `null` for unlimited; single use by default. */
      maxUses: z.number().int().min(1).max(100_000).nullable().default(1),
      description: plainText(200, 0).default(''),
    })
    .strict(),
  response: joinTokenViewSchema.extend({ token: z.string() }),
});

export const ListJoinTokens = defineRpc({
  service: SERVICE,
  name: 'list-join-tokens',
  kind: 'query',
  request: z.object({ clusterId: idSchema }),
  response: z.object({ items: z.array(joinTokenViewSchema) }),
});

export const RevokeJoinToken = defineRpc({
  service: SERVICE,
  name: 'revoke-join-token',
  kind: 'command',
  request: z.object({ clusterId: idSchema, tokenId: idSchema }),
  response: joinTokenViewSchema,
});

const agentFacts = {
  hostname: z.string().max(255),
  capacity: capacitySchema,
  engine: engineSchema,
  agentVersion: z.string().max(50),
};

/** Sent by an agent that has no identity yet. The agent chooses its node id and credential. */
export const JoinNode = defineRpc({
  service: SERVICE,
  name: 'join-node',
  kind: 'command',
  request: z.object({
    token: z.string().min(1).max(500),
    nodeId: idSchema,
    credential: z.string().min(32).max(200),
    name: z.string().min(1).max(100),
    labels: labelsSchema.default({}),
    zone: zoneSchema.default('default'),
    ...agentFacts,
  }),
  response: z.object({ nodeId: idSchema, clusterId: idSchema, heartbeatIntervalMs: z.number().int() }),
});

/** Sent by an agent that already holds an identity (after a restart). */
export const RejoinNode = defineRpc({
  service: SERVICE,
  name: 'rejoin-node',
  kind: 'command',
  request: z.object({ nodeId: idSchema, credential: z.string().min(32).max(200), ...agentFacts }),
  response: JoinNode.response,
});

export const LeaveNode = defineRpc({
  service: SERVICE,
  name: 'leave-node',
  kind: 'command',
  request: z.object({
    nodeId: idSchema,
    credential: z.string().min(32).max(200),
    reason: z.string().max(200),
  }),
  response: z.object({ nodeId: idSchema }),
});

export const ListNodes = defineRpc({
  service: SERVICE,
  name: 'list-nodes',
  kind: 'query',
  request: pageQuerySchema.extend({ clusterId: idSchema.optional() }),
  response: page(nodeViewSchema),
});

export const GetNode = defineRpc({
  service: SERVICE,
  name: 'get-node',
  kind: 'query',
  request: z.object({ nodeId: idSchema }),
  response: nodeViewSchema,
});

export const SetNodeLabels = defineRpc({
  service: SERVICE,
  name: 'set-node-labels',
  kind: 'command',
  request: z.object({ nodeId: idSchema, labels: labelsSchema }),
  response: nodeViewSchema,
});

export const ChangeNodeScheduling = defineRpc({
  service: SERVICE,
  name: 'change-node-scheduling',
  kind: 'command',
  request: z.object({ nodeId: idSchema, action: z.enum(['cordon', 'uncordon', 'drain']) }),
  response: nodeViewSchema,
});

/** For platform services: checks a node agent's credential (used before handing it a secret). */
export const AuthenticateNode = defineRpc({
  service: SERVICE,
  name: 'authenticate-node',
  kind: 'query',
  request: z.object({ nodeId: idSchema, credential: z.string().min(1).max(500) }),
  response: z.object({ nodeId: idSchema, clusterId: idSchema }),
});

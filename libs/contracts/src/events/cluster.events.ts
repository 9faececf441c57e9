import { z } from 'zod';
import { defineMessage, type MessageOf } from '../message';
import { dnsLabelSchema, idSchema, isoDateTime } from '../primitives';

/** Aggregate type of clusters; the subject of a cluster is `<prefix>.events.cluster.<clusterId>`. */
export const CLUSTER = 'cluster';
/** Aggregate type reserving cluster names, so that two clusters never share a name. */
export const CLUSTER_NAME = 'cluster-name';

export const ClusterNameReserved = defineMessage(
  'ClusterNameReserved',
  z.object({ name: dnsLabelSchema, clusterId: idSchema }),
);

export const ClusterCreated = defineMessage(
  'ClusterCreated',
  z.object({
    clusterId: idSchema,
    name: dnsLabelSchema,
    description: z.string().max(500),
  }),
);

/** A join token; only the SHA-256 of its secret is ever stored. `maxUses` null means unlimited. */
export const JoinTokenCreated = defineMessage(
  'JoinTokenCreated',
  z.object({
    clusterId: idSchema,
    tokenId: idSchema,
    secretSha256: z.string().regex(/^[0-9a-f]{64}$/),
    expiresAt: isoDateTime,
    maxUses: z.number().int().positive().nullable(),
    description: z.string().max(200),
  }),
);

export const JoinTokenUsed = defineMessage(
  'JoinTokenUsed',
  z.object({ clusterId: idSchema, tokenId: idSchema, nodeId: idSchema }),
);

export const JoinTokenRevoked = defineMessage(
  'JoinTokenRevoked',
  z.object({ clusterId: idSchema, tokenId: idSchema }),
);

export type ClusterNameReserved = MessageOf<typeof ClusterNameReserved>;
export type ClusterCreated = MessageOf<typeof ClusterCreated>;
export type JoinTokenCreated = MessageOf<typeof JoinTokenCreated>;
export type JoinTokenUsed = MessageOf<typeof JoinTokenUsed>;
export type JoinTokenRevoked = MessageOf<typeof JoinTokenRevoked>;

export type ClusterEvent = ClusterCreated | JoinTokenCreated | JoinTokenUsed | JoinTokenRevoked;
export const clusterEventDefinitions = [ClusterCreated, JoinTokenCreated, JoinTokenUsed, JoinTokenRevoked];

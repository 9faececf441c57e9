import { z } from 'zod';
import { defineMessage, type MessageOf } from '../message';
import { capacitySchema, engineSchema, idSchema, isoDateTime, labelsSchema, zoneSchema } from '../primitives';

/** Aggregate type of nodes; the subject of a node is `<prefix>.events.node.<nodeId>`. */
export const NODE = 'node';

const nodeFacts = {
  capacity: capacitySchema,
  engine: engineSchema,
  agentVersion: z.string().max(50),
  hostname: z.string().max(255),
};

/** A node entered a cluster. The agent's credential is kept only as a SHA-256. */
export const NodeJoined = defineMessage(
  'NodeJoined',
  z.object({
    nodeId: idSchema,
    clusterId: idSchema,
    name: z.string().min(1).max(100),
    labels: labelsSchema,
    zone: zoneSchema,
    joinTokenId: idSchema,
    credentialSha256: z.string().regex(/^[0-9a-f]{64}$/),
    ...nodeFacts,
  }),
);

/** A known node's agent started again (after a restart or after leaving); its facts may have changed. */
export const NodeRejoined = defineMessage('NodeRejoined', z.object({ nodeId: idSchema, ...nodeFacts }));

/** No heartbeat arrived for longer than the loss threshold. */
export const NodeLost = defineMessage(
  'NodeLost',
  z.object({
    nodeId: idSchema,
    lastSeenAt: isoDateTime.nullable(),
    silentForMs: z.number().int().nonnegative(),
  }),
);

export const NodeRecovered = defineMessage('NodeRecovered', z.object({ nodeId: idSchema }));

/** The agent left on purpose (SIGTERM); it is not expected back until it rejoins. */
export const NodeLeft = defineMessage(
  'NodeLeft',
  z.object({ nodeId: idSchema, reason: z.string().max(200) }),
);

export const NodeLabelsSet = defineMessage(
  'NodeLabelsSet',
  z.object({ nodeId: idSchema, labels: labelsSchema }),
);
export const NodeCordoned = defineMessage('NodeCordoned', z.object({ nodeId: idSchema }));
export const NodeUncordoned = defineMessage('NodeUncordoned', z.object({ nodeId: idSchema }));
export const NodeDrainStarted = defineMessage('NodeDrainStarted', z.object({ nodeId: idSchema }));

export type NodeJoined = MessageOf<typeof NodeJoined>;
export type NodeRejoined = MessageOf<typeof NodeRejoined>;
export type NodeLost = MessageOf<typeof NodeLost>;
export type NodeRecovered = MessageOf<typeof NodeRecovered>;
export type NodeLeft = MessageOf<typeof NodeLeft>;
export type NodeLabelsSet = MessageOf<typeof NodeLabelsSet>;
export type NodeCordoned = MessageOf<typeof NodeCordoned>;
export type NodeUncordoned = MessageOf<typeof NodeUncordoned>;
export type NodeDrainStarted = MessageOf<typeof NodeDrainStarted>;

export type NodeEvent =
  | NodeJoined
  | NodeRejoined
  | NodeLost
  | NodeRecovered
  | NodeLeft
  | NodeLabelsSet
  | NodeCordoned
  | NodeUncordoned
  | NodeDrainStarted;

export const nodeEventDefinitions = [
  NodeJoined,
  NodeRejoined,
  NodeLost,
  NodeRecovered,
  NodeLeft,
  NodeLabelsSet,
  NodeCordoned,
  NodeUncordoned,
  NodeDrainStarted,
];

/**
 * A node's liveness signal, sent on core NATS every heartbeat interval. Not an event: only the
 * transitions it causes (lost, recovered) are stored.
 */
export const nodeHeartbeatSchema = z.object({
  nodeId: idSchema,
  clusterId: idSchema,
  seq: z.number().int().nonnegative(),
  sentAt: isoDateTime,
});
export type NodeHeartbeat = z.infer<typeof nodeHeartbeatSchema>;

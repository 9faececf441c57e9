import { z } from 'zod';
import { storedVersionSpecSchema } from '../app-spec';
import { defineMessage, type MessageOf } from '../message';
import { dnsLabelSchema, idSchema } from '../primitives';

/** Aggregate types of the runtime context. An app's id is `<space>_<app>` (both DNS labels). */
export const APP = 'app';
export const INSTANCE = 'instance';
/** The instances a node must run: the agent of that node follows this one subject. */
export const NODE_ASSIGNMENT = 'node-assignment';

export const appId = (space: string, app: string): string => `${space}_${app}`;
/** Custom domains are unique across apps: one reservation aggregate per host (id = SHA-256 of the host). */
export const DOMAIN = 'domain';

const appRef = { space: dnsLabelSchema, app: dnsLabelSchema };
const versionNumber = z.number().int().min(1).max(999_999);

export const AppCreated = defineMessage(
  'AppCreated',
  z.object({ ...appRef, clusterId: idSchema, defaultDomain: z.string().max(253) }),
);
export const DomainClaimed = defineMessage(
  'DomainClaimed',
  z.object({ host: z.string().max(253), space: dnsLabelSchema, app: dnsLabelSchema }),
);
export const DomainReleased = defineMessage('DomainReleased', z.object({ host: z.string().max(253) }));
export const AppDomainAdded = defineMessage(
  'AppDomainAdded',
  z.object({ ...appRef, host: z.string().max(253) }),
);
export const AppDomainRemoved = defineMessage(
  'AppDomainRemoved',
  z.object({ ...appRef, host: z.string().max(253) }),
);
/** Deletion starts: every instance is stopped, then `AppDeleted`. */
export const AppDeletionRequested = defineMessage('AppDeletionRequested', z.object(appRef));
export const AppDeleted = defineMessage('AppDeleted', z.object(appRef));

export const VersionCreated = defineMessage(
  'VersionCreated',
  // Stored specs are read with the rules they were written under: a version created before the API's
  // precise rules still reads (a published event never changes shape).
  z.object({ ...appRef, version: versionNumber, spec: storedVersionSpecSchema }),
);
export const VersionDeleted = defineMessage(
  'VersionDeleted',
  z.object({ ...appRef, version: versionNumber }),
);
/** The desired number of instances of a version (deploy, scale and stop all set it). */
export const VersionScaled = defineMessage(
  'VersionScaled',
  z.object({
    ...appRef,
    version: versionNumber,
    instances: z.number().int().min(0).max(10_000),
    reason: z.enum(['deploy', 'scale', 'stop']),
  }),
);
/** Traffic split in hundredths of a percent per version (integers summing to 10000). */
export const TrafficSet = defineMessage(
  'TrafficSet',
  z.object({ ...appRef, weights: z.record(z.string(), z.number().int().min(0).max(10_000)) }),
);
/**
 * Sticky sessions on or off: a client keeps the version and instance that first answered it (router
 * cookie). Off until this is first set, including for apps created before the event existed.
 */
export const AppStickySessionsSet = defineMessage(
  'AppStickySessionsSet',
  z.object({ ...appRef, enabled: z.boolean() }),
);

const hostPortSchema = z.object({
  containerPort: z.number().int(),
  protocol: z.enum(['http', 'tcp', 'udp']),
  hostPort: z.number().int(),
});

/** A wanted instance of a version, not placed yet. */
export const InstanceRequested = defineMessage(
  'InstanceRequested',
  z.object({
    instanceId: idSchema,
    ...appRef,
    version: versionNumber,
    clusterId: idSchema,
    replaces: idSchema.nullable(),
  }),
);
/** No node can take it now; `reason` says why per node class ("0/3 nodes: 2 insufficient memory, 1 cordoned"). */
export const InstanceUnschedulable = defineMessage(
  'InstanceUnschedulable',
  z.object({ instanceId: idSchema, reason: z.string().max(1000) }),
);
export const InstancePlaced = defineMessage(
  'InstancePlaced',
  z.object({ instanceId: idSchema, nodeId: idSchema }),
);
/**
 * The agent created and started its container. `host` is the address the node advertises for its
 * published ports (127.0.0.1 on a single machine); traffic and probes go to `host:hostPort`.
 */
export const InstanceStarted = defineMessage(
  'InstanceStarted',
  z.object({
    instanceId: idSchema,
    containerId: z.string().max(100),
    host: z.string().max(255),
    hostPorts: z.array(hostPortSchema),
    restarts: z.number().int().min(0),
  }),
);
/**
 * The probe run that caused a readiness or health transition, as the agent saw it: `detail` is what the
 * check reported (`GET http://…/healthz: HTTP 200`, `exec ["cat","/tmp/ready"]: exit code 1`…).
 * Agents report transitions only, never every run.
 */
export const probeResultSchema = z.object({
  kind: z.enum(['startup', 'readiness', 'liveness']),
  ok: z.boolean(),
  detail: z.string().max(1000),
});
export type ProbeResult = z.infer<typeof probeResultSchema>;

/**
 * Readiness passed: the instance may get traffic. `probe` is the passing run (readiness, or startup when
 * there is no readiness probe); absent when no probe gates the container, and in events stored before
 * agents reported it.
 */
export const InstanceReady = defineMessage(
  'InstanceReady',
  z.object({ instanceId: idSchema, probe: probeResultSchema.optional() }),
);
/**
 * Readiness (or startup) is failing: no traffic, no restart. `probe` is the failing run when a probe
 * caused it; absent for a stop or in events stored before agents reported it.
 */
export const InstanceNotReady = defineMessage(
  'InstanceNotReady',
  z.object({ instanceId: idSchema, reason: z.string().max(1000), probe: probeResultSchema.optional() }),
);
/**
 * The container exited (or was restarted by a failing startup or liveness probe, then `probe` is that
 * failing run); the agent restarts it after `restartInMs`.
 */
export const InstanceExited = defineMessage(
  'InstanceExited',
  z.object({
    instanceId: idSchema,
    exitCode: z.number().int().nullable(),
    oomKilled: z.boolean(),
    reason: z.string().max(1000),
    restartInMs: z.number().int().min(0).nullable(),
    probe: probeResultSchema.optional(),
  }),
);
/** The instance cannot run (image pull, bad command…); `code` is stable, e.g. IMAGE_PULL_FAILED. */
export const InstanceFailed = defineMessage(
  'InstanceFailed',
  z.object({ instanceId: idSchema, code: z.string().max(50), reason: z.string().max(2000) }),
);
export const InstanceStopRequested = defineMessage(
  'InstanceStopRequested',
  z.object({
    instanceId: idSchema,
    reason: z.enum([
      'scale-down',
      'version-stopped',
      'replaced',
      'node-lost',
      'drain',
      'rebalance',
      'app-deleted',
      'unplaced',
    ]),
  }),
);
export const InstanceStopped = defineMessage(
  'InstanceStopped',
  z.object({ instanceId: idSchema, exitCode: z.number().int().nullable() }),
);

/** Instances the node must run; the payload is everything the agent needs, so it never reads other subjects. */
export const InstanceAssigned = defineMessage(
  'InstanceAssigned',
  z.object({
    nodeId: idSchema,
    instanceId: idSchema,
    ...appRef,
    version: versionNumber,
    spec: storedVersionSpecSchema,
  }),
);
/**
 * Several instances the node must run, placed by one plan of the scheduler: one event per node and plan,
 * appended at the node's expected version, so that the whole batch passes or fails the node's
 * over-commit guard at once and the agent receives it as one message. Each assignment says what one
 * `InstanceAssigned` says; a node subject may hold both (ADR 0008).
 */
export const InstancesAssigned = defineMessage(
  'InstancesAssigned',
  z.object({
    nodeId: idSchema,
    assignments: z
      .array(InstanceAssigned.schema.omit({ nodeId: true }))
      .min(1)
      .max(1000),
  }),
);
export const InstanceUnassigned = defineMessage(
  'InstanceUnassigned',
  z.object({ nodeId: idSchema, instanceId: idSchema, reason: InstanceStopRequested.schema.shape.reason }),
);

export type DomainClaimed = MessageOf<typeof DomainClaimed>;
export type DomainReleased = MessageOf<typeof DomainReleased>;
export type AppCreated = MessageOf<typeof AppCreated>;
export type AppDomainAdded = MessageOf<typeof AppDomainAdded>;
export type AppDomainRemoved = MessageOf<typeof AppDomainRemoved>;
export type AppDeletionRequested = MessageOf<typeof AppDeletionRequested>;
export type AppDeleted = MessageOf<typeof AppDeleted>;
export type VersionCreated = MessageOf<typeof VersionCreated>;
export type VersionDeleted = MessageOf<typeof VersionDeleted>;
export type VersionScaled = MessageOf<typeof VersionScaled>;
export type TrafficSet = MessageOf<typeof TrafficSet>;
export type AppStickySessionsSet = MessageOf<typeof AppStickySessionsSet>;
export type InstanceRequested = MessageOf<typeof InstanceRequested>;
export type InstanceUnschedulable = MessageOf<typeof InstanceUnschedulable>;
export type InstancePlaced = MessageOf<typeof InstancePlaced>;
export type InstanceStarted = MessageOf<typeof InstanceStarted>;
export type InstanceReady = MessageOf<typeof InstanceReady>;
export type InstanceNotReady = MessageOf<typeof InstanceNotReady>;
export type InstanceExited = MessageOf<typeof InstanceExited>;
export type InstanceFailed = MessageOf<typeof InstanceFailed>;
export type InstanceStopRequested = MessageOf<typeof InstanceStopRequested>;
export type InstanceStopped = MessageOf<typeof InstanceStopped>;
export type InstanceAssigned = MessageOf<typeof InstanceAssigned>;
export type InstancesAssigned = MessageOf<typeof InstancesAssigned>;
export type InstanceUnassigned = MessageOf<typeof InstanceUnassigned>;

export type AppEvent =
  | AppCreated
  | AppDomainAdded
  | AppDomainRemoved
  | AppDeletionRequested
  | AppDeleted
  | VersionCreated
  | VersionDeleted
  | VersionScaled
  | TrafficSet
  | AppStickySessionsSet;
export type InstanceEvent =
  | InstanceRequested
  | InstanceUnschedulable
  | InstancePlaced
  | InstanceStarted
  | InstanceReady
  | InstanceNotReady
  | InstanceExited
  | InstanceFailed
  | InstanceStopRequested
  | InstanceStopped;
export type NodeAssignmentEvent = InstanceAssigned | InstancesAssigned | InstanceUnassigned;
export type DomainEvent = DomainClaimed | DomainReleased;
export type RuntimeEvent = AppEvent | InstanceEvent | NodeAssignmentEvent | DomainEvent;

export const runtimeEventDefinitions = [
  DomainClaimed,
  DomainReleased,
  AppCreated,
  AppDomainAdded,
  AppDomainRemoved,
  AppDeletionRequested,
  AppDeleted,
  VersionCreated,
  VersionDeleted,
  VersionScaled,
  TrafficSet,
  AppStickySessionsSet,
  InstanceRequested,
  InstanceUnschedulable,
  InstancePlaced,
  InstanceStarted,
  InstanceReady,
  InstanceNotReady,
  InstanceExited,
  InstanceFailed,
  InstanceStopRequested,
  InstanceStopped,
  InstanceAssigned,
  InstancesAssigned,
  InstanceUnassigned,
];

import { z } from 'zod';
import { hostnameSchema, storedVersionSpecSchema, versionSpecSchema, weightsSchema } from '../app-spec';
import { dnsLabelSchema, idSchema, isoDateTime } from '../primitives';
import { probeResultSchema } from '../events/runtime.events';
import { pageQuerySchema } from './clusters.rpc';
import { defineRpc } from './rpc';

const SERVICE = 'scheduler';
const appRef = z.object({ space: dnsLabelSchema, app: dnsLabelSchema });
const versionRef = appRef.extend({ version: z.coerce.number().int().min(1).max(999_999) });

export const instanceStateSchema = z.enum([
  'pending',
  'unschedulable',
  'starting',
  'ready',
  'unhealthy',
  'stopping',
  'stopped',
  'failed',
]);
export type InstanceState = z.infer<typeof instanceStateSchema>;

export const instanceViewSchema = z.object({
  id: idSchema,
  version: z.number().int(),
  nodeId: idSchema.nullable(),
  state: instanceStateSchema,
  host: z.string().nullable(),
  hostPorts: z.array(
    z.object({ containerPort: z.number().int(), protocol: z.string(), hostPort: z.number().int() }),
  ),
  restarts: z.number().int(),
  startedAt: isoDateTime.nullable(),
  /** Why it is unschedulable, unhealthy, failed or stopping. */
  reason: z.string().nullable(),
  /** Stable code of a failure, e.g. IMAGE_PULL_FAILED. */
  code: z.string().nullable(),
  /**
   * The last probe result: the outcome carried by the latest readiness/health transition the agent
   * reported (agents report transitions, not every probe run), `at` being when that transition
   * occurred. Null until a probe caused a transition (never, when the instance has no probes).
   */
  lastProbe: probeResultSchema.extend({ at: isoDateTime }).nullable(),
  updatedAt: isoDateTime,
});
export type InstanceView = z.infer<typeof instanceViewSchema>;

export const versionViewSchema = z.object({
  version: z.number().int(),
  label: z.string().nullable(),
  image: z.string(),
  spec: storedVersionSpecSchema,
  desiredInstances: z.number().int(),
  readyInstances: z.number().int(),
  /** Percent of traffic, two decimals. */
  weight: z.number(),
  createdAt: isoDateTime,
  /** Since when the version runs: the earliest start among its live instances (null when none started). */
  startedAt: isoDateTime.nullable(),
});

export const appViewSchema = z.object({
  space: z.string(),
  name: z.string(),
  clusterId: idSchema,
  state: z.enum(['active', 'deleting']),
  domains: z.array(z.string()),
  versions: z.array(versionViewSchema),
  desiredInstances: z.number().int(),
  readyInstances: z.number().int(),
  /** Ready instances as a percentage of desired ones (100 when none are desired). */
  health: z.number(),
  /** A client keeps the version and instance that first answered it (router cookie). */
  stickySessions: z.boolean(),
  createdAt: isoDateTime,
});
export type AppView = z.infer<typeof appViewSchema>;

export const appEventViewSchema = z.object({
  id: z.string(),
  at: isoDateTime,
  type: z.string(),
  actor: z.object({ kind: z.string(), id: z.string() }),
  instanceId: idSchema.nullable(),
  version: z.number().int().nullable(),
  summary: z.string(),
});

export const CreateApp = defineRpc({
  service: SERVICE,
  name: 'create-app',
  kind: 'command',
  /** `cluster` is a cluster id or name. */
  request: appRef.extend({ cluster: z.string().min(1).max(100), stickySessions: z.boolean().default(false) }),
  response: appViewSchema,
});
export const ListApps = defineRpc({
  service: SERVICE,
  name: 'list-apps',
  kind: 'query',
  request: pageQuerySchema.extend({ space: dnsLabelSchema }),
  response: z.object({ items: z.array(appViewSchema), nextCursor: z.string().nullable() }),
});
export const GetApp = defineRpc({
  service: SERVICE,
  name: 'get-app',
  kind: 'query',
  request: appRef,
  response: appViewSchema,
});
export const DeleteApp = defineRpc({
  service: SERVICE,
  name: 'delete-app',
  kind: 'command',
  request: appRef,
  response: z.object({ space: z.string(), app: z.string(), state: z.enum(['deleting', 'deleted']) }),
});
export const AddDomain = defineRpc({
  service: SERVICE,
  name: 'add-domain',
  kind: 'command',
  /** `platformAdmin`: only platform admins may use hosts under the base domain outside a space's namespace. */
  request: appRef.extend({ host: hostnameSchema, platformAdmin: z.boolean().default(false) }),
  response: appViewSchema,
});
export const RemoveDomain = defineRpc({
  service: SERVICE,
  name: 'remove-domain',
  kind: 'command',
  request: appRef.extend({ host: hostnameSchema }),
  response: appViewSchema,
});
export const CreateVersion = defineRpc({
  service: SERVICE,
  name: 'create-version',
  kind: 'command',
  /** `platformAdmin` tells the policy gate who asks. */
  request: appRef.extend({ spec: versionSpecSchema, platformAdmin: z.boolean() }),
  response: versionViewSchema,
});
export const DeleteVersion = defineRpc({
  service: SERVICE,
  name: 'delete-version',
  kind: 'command',
  request: versionRef,
  response: z.object({ version: z.number().int() }),
});
export const ScaleVersion = defineRpc({
  service: SERVICE,
  name: 'scale-version',
  kind: 'command',
  request: versionRef.extend({
    instances: z.number().int().min(0).max(10_000),
    reason: z.enum(['deploy', 'scale', 'stop']),
  }),
  response: appViewSchema,
});
export const SetTraffic = defineRpc({
  service: SERVICE,
  name: 'set-traffic',
  kind: 'command',
  request: appRef.extend({ weights: weightsSchema }),
  response: appViewSchema,
});
/** Turns sticky sessions of an app on or off; setting the current value again changes nothing. */
export const SetStickySessions = defineRpc({
  service: SERVICE,
  name: 'set-sticky-sessions',
  kind: 'command',
  request: appRef.extend({ enabled: z.boolean() }),
  response: appViewSchema,
});
export const ListInstances = defineRpc({
  service: SERVICE,
  name: 'list-instances',
  kind: 'query',
  request: appRef.extend({ includeStopped: z.boolean().default(false) }),
  response: z.object({ items: z.array(instanceViewSchema) }),
});
export const ListAppEvents = defineRpc({
  service: SERVICE,
  name: 'list-app-events',
  kind: 'query',
  request: appRef.merge(pageQuerySchema),
  response: z.object({ items: z.array(appEventViewSchema), nextCursor: z.string().nullable() }),
});

/** How many apps a space holds, those being deleted included: a space is empty only without any. */
export const CountSpaceApps = defineRpc({
  service: SERVICE,
  name: 'count-space-apps',
  kind: 'query',
  request: z.object({ space: dnsLabelSchema }),
  response: z.object({ apps: z.number().int().min(0) }),
});

/** Starts the deletion of every app of a space (a space being deleted); answers how many remain. */
export const DeleteSpaceApps = defineRpc({
  service: SERVICE,
  name: 'delete-space-apps',
  kind: 'command',
  request: z.object({ space: dnsLabelSchema }),
  response: z.object({ apps: z.number().int().min(0) }),
});

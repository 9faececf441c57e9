import { z } from 'zod';
import { defineMessage, type MessageOf } from '../message';
import { dnsLabelSchema, idSchema } from '../primitives';
import { InstanceStopRequested } from './runtime.events';

/**
 * The scheduler's lease: one subject per scheduler group, the fence of its single writer. Its version
 * (the position of its last event) is the fencing token: a replica appends to it at the version it
 * last saw, so a replica that another one has since taken the lease from is refused by the store.
 */
export const SCHEDULER_LEASE = 'scheduler-lease';

const holder = z.string().min(1).max(200);
const term = z.number().int().min(1);

/** A scheduler replica took the lease (after winning the election); `term` counts the takes. */
export const SchedulerLeaseTaken = defineMessage('SchedulerLeaseTaken', z.object({ holder, term }));

/**
 * One decision of the scheduler as recorded before it is applied. A request carries the id its instance
 * will have, so that whoever applies it (the replica that decided, or the next leader after a crash)
 * creates that one instance and no other.
 */
export const recordedActionSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('request'),
    instanceId: idSchema,
    space: dnsLabelSchema,
    app: dnsLabelSchema,
    version: z.number().int().min(1).max(999_999),
    clusterId: idSchema,
    replaces: idSchema.nullable(),
  }),
  z.object({ kind: z.literal('place'), instanceId: idSchema, nodeId: idSchema }),
  z.object({ kind: z.literal('unschedulable'), instanceId: idSchema, reason: z.string().max(1000) }),
  z.object({
    kind: z.literal('stop'),
    instanceId: idSchema,
    reason: InstanceStopRequested.schema.shape.reason,
  }),
  z.object({ kind: z.literal('complete-deletion'), space: dnsLabelSchema, app: dnsLabelSchema }),
]);
export type RecordedAction = z.infer<typeof recordedActionSchema>;

/**
 * A plan (or part of one) the lease holder decided, appended to the lease subject at the holder's
 * fencing token before any of it is applied.
 */
export const SchedulerPlanRecorded = defineMessage(
  'SchedulerPlanRecorded',
  z.object({ holder, term, actions: z.array(recordedActionSchema).min(1).max(1000) }),
);

export type SchedulerLeaseTaken = MessageOf<typeof SchedulerLeaseTaken>;
export type SchedulerPlanRecorded = MessageOf<typeof SchedulerPlanRecorded>;
export type SchedulerLeaseEvent = SchedulerLeaseTaken | SchedulerPlanRecorded;

export const schedulingEventDefinitions = [SchedulerLeaseTaken, SchedulerPlanRecorded];

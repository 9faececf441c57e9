import { z } from 'zod';
import { idSchema } from '../primitives';
import { defineRpc } from './rpc';

/**
 * Asked by an agent before it stops an instance: every router takes the instance out of rotation and
 * answers once no new request can reach it. The agent waits for the answer a bounded time only.
 * `after`: the event stream position of the agent's latest stored report about the instance; a router
 * whose table has not reached it yet waits for it first (within the call's deadline), so it never drains
 * on a table that does not know the instances replacing this one.
 */
export const DrainInstance = defineRpc({
  service: 'router',
  name: 'drain-instance',
  kind: 'command',
  request: z.object({ instanceId: idSchema, after: z.number().int().positive().optional() }),
  response: z.object({ instanceId: idSchema, drained: z.boolean() }),
});

/**
 * What a router publishes on `Subjects.routerPresence`: `alive` every `ROUTER_PRESENCE_INTERVAL_MS`
 * while it runs, `stopped` when it stops (its HAProxy stops with it). A router that was alive and went
 * silent without `stopped` was killed: its HAProxy still runs, on the table it had, until it is back.
 */
export const routerPresenceSchema = z.object({
  router: z.string().min(1).max(100),
  state: z.enum(['alive', 'stopped']),
});
export type RouterPresence = z.infer<typeof routerPresenceSchema>;

export const ROUTER_PRESENCE_INTERVAL_MS = 2000;

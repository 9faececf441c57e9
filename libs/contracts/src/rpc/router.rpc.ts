import { z } from 'zod';
import { idSchema } from '../primitives';
import { defineRpc } from './rpc';

/**
 * Asked by an agent before it stops an instance: every router takes the instance out of rotation and
 * answers once no new request can reach it. The agent waits for the answer a bounded time only.
 */
export const DrainInstance = defineRpc({
  service: 'router',
  name: 'drain-instance',
  kind: 'command',
  request: z.object({ instanceId: idSchema }),
  response: z.object({ instanceId: idSchema, drained: z.boolean() }),
});

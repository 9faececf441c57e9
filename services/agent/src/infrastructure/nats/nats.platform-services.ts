import { DrainInstance, PierError, RevealSecret } from '@pier/contracts';
import { type CallContext, type RpcClient } from '@pier/messaging';
import { randomUUID } from 'node:crypto';
import { type DrainOutcome, type PlatformServices } from '../../application/ports';
import { type RouterPresence } from './router-presence';

/** After the first router answered a drain, how long to wait for the others. */
const DRAIN_STALL_MS = 250;

/** While waiting for a restarting router, how often the drain is asked again. */
const ROUTER_RETRY_MS = 250;

/** Secrets from the auth service and drains from the routers, asked as this node. */
export class NatsPlatformServices implements PlatformServices {
  constructor(
    private readonly rpc: RpcClient,
    private readonly node: { nodeId: string; credential: string },
    /** The routers heard of; without it a drain that finds no router never waits for one. */
    private readonly routers?: RouterPresence,
  ) {}

  async revealSecret(space: string, name: string): Promise<unknown> {
    const caller = { kind: 'node' as const, ...this.node };
    const { value } = await this.rpc.call(RevealSecret, { space, name, caller }, this.context());
    return value;
  }

  /**
   * Every router is asked (each has its own HAProxy): drained when one that knows the instance took it
   * out. A router that did not answer within the wait still drops it on the `InstanceStopRequested`
   * event. When no router answers at all but one was alive lately and never said it stopped, it was
   * killed and is restarting: its HAProxy still runs, frozen on the table it had, and would keep sending
   * the instance requests after the container stopped. So the drain is asked again until a router is
   * back, within `timeoutMs`.
   */
  async drainInstance(instanceId: string, timeoutMs: number, after?: number): Promise<DrainOutcome> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const outcome = await this.askRouters(instanceId, Math.max(1, deadline - Date.now()), after);
      if (outcome !== 'no-router' || !this.routers?.awaited()) return outcome;
      if (Date.now() + ROUTER_RETRY_MS >= deadline) return 'no-router';
      await new Promise((r) => setTimeout(r, ROUTER_RETRY_MS));
    }
  }

  private async askRouters(instanceId: string, timeoutMs: number, after?: number): Promise<DrainOutcome> {
    try {
      const { responses } = await this.rpc.callAll(
        DrainInstance,
        { instanceId, ...(after !== undefined ? { after } : {}) },
        { ...this.context(), timeoutMs, stallMs: DRAIN_STALL_MS },
      );
      return responses.some((r) => r.drained) ? 'drained' : 'failed';
    } catch (error) {
      if (error instanceof PierError && error.code === 'SERVICE_UNAVAILABLE') return 'no-router';
      if (error instanceof PierError && error.code === 'DEADLINE_EXCEEDED') return 'timed-out';
      return 'failed';
    }
  }

  private context(): CallContext {
    return { actor: { kind: 'node', id: this.node.nodeId }, correlationId: randomUUID() };
  }
}

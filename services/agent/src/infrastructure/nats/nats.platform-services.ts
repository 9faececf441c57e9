import { DrainInstance, PierError, RevealSecret } from '@pier/contracts';
import { type CallContext, type RpcClient } from '@pier/messaging';
import { randomUUID } from 'node:crypto';
import { type DrainOutcome, type PlatformServices } from '../../application/ports';

/** Secrets from the auth service and drains from the routers, asked as this node. */
export class NatsPlatformServices implements PlatformServices {
  constructor(
    private readonly rpc: RpcClient,
    private readonly node: { nodeId: string; credential: string },
  ) {}

  async revealSecret(space: string, name: string): Promise<unknown> {
    const caller = { kind: 'node' as const, ...this.node };
    const { value } = await this.rpc.call(RevealSecret, { space, name, caller }, this.context());
    return value;
  }

  async drainInstance(instanceId: string, timeoutMs: number): Promise<DrainOutcome> {
    try {
      const reply = await this.rpc.call(DrainInstance, { instanceId }, { ...this.context(), timeoutMs });
      return reply.drained ? 'drained' : 'failed';
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

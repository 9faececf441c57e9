import { type NatsConnection } from '@nats-io/transport-node';
import { JoinNode, LeaveNode, RejoinNode, type Subjects } from '@pier/contracts';
import { type CallContext, type RpcClient } from '@pier/messaging';
import { randomUUID } from 'node:crypto';
import { type ControlPlane } from '../../application/ports';

/** The control plane over NATS: RPC to the clusters service, heartbeats as core NATS messages. */
export class NatsControlPlane implements ControlPlane {
  constructor(
    private readonly connection: NatsConnection,
    private readonly subjects: Subjects,
    private readonly rpc: RpcClient,
  ) {}

  join(request: Parameters<ControlPlane['join']>[0]) {
    return this.rpc.call(JoinNode, request, this.context(request.nodeId));
  }

  rejoin(request: Parameters<ControlPlane['rejoin']>[0]) {
    return this.rpc.call(RejoinNode, request, this.context(request.nodeId));
  }

  async leave(request: Parameters<ControlPlane['leave']>[0]) {
    await this.rpc.call(LeaveNode, request, { ...this.context(request.nodeId), timeoutMs: 2000 });
  }

  heartbeat(beat: Parameters<ControlPlane['heartbeat']>[0]): void {
    this.connection.publish(this.subjects.heartbeat(beat.clusterId, beat.nodeId), JSON.stringify(beat));
  }

  private context(nodeId: string): CallContext {
    return { actor: { kind: 'node', id: nodeId }, correlationId: randomUUID() };
  }
}

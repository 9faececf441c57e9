import { Inject, Injectable } from '@nestjs/common';
import { type Cause, type Labels, type NodeView } from '@pier/contracts';
import { changeScheduling, setLabels } from '../../domain/node/node.decide';
import { evolveNode, type NodeState } from '../../domain/node/node.state';
import { commandContext } from '../command-context';
import { execute } from '@pier/eventstore';
import { NodeLivenessMonitor } from '../node-liveness/node-liveness.monitor';
import { NODE_REPOSITORY, type NodeRepository } from '../ports';
import { nodeView } from '../views';

/** Operator changes to a node: labels, cordon, uncordon, drain. */
@Injectable()
export class NodeAdminHandler {
  constructor(
    @Inject(NODE_REPOSITORY) private readonly nodes: NodeRepository,
    private readonly liveness: NodeLivenessMonitor,
  ) {}

  async setLabels(cmd: { nodeId: string; labels: Labels }, cause: Cause): Promise<NodeView> {
    const ctx = commandContext(cause);
    const { state } = await execute(this.nodes, cmd.nodeId, (s) => setLabels(s, cmd, ctx), evolveNode);
    return this.view(state!);
  }

  async changeScheduling(
    cmd: { nodeId: string; action: 'cordon' | 'uncordon' | 'drain' },
    cause: Cause,
  ): Promise<NodeView> {
    const ctx = commandContext(cause);
    const { state } = await execute(this.nodes, cmd.nodeId, (s) => changeScheduling(s, cmd, ctx), evolveNode);
    return this.view(state!);
  }

  private view(state: NodeState): NodeView {
    return nodeView(state, this.liveness.lastSeenAt(state.id));
  }
}

import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { type Cause, type NodeEvent, type NodeHeartbeat, systemActor } from '@pier/contracts';
import { type Logger } from '@pier/observability';
import { type LivenessEntry, overdueNodes } from '../../domain/node/liveness';
import { markLost, markRecovered } from '../../domain/node/node.decide';
import { evolveNode } from '../../domain/node/node.state';
import { commandContext } from '../command-context';
import { execute } from '@pier/eventstore';
import {
  HEARTBEAT_FEED,
  type HeartbeatFeed,
  NODE_EVENT_FEED,
  NODE_REPOSITORY,
  type NodeEventFeed,
  type NodeRepository,
} from '../ports';

export const LIVENESS_SETTINGS = Symbol('LivenessSettings');
export interface LivenessSettings {
  /** A node silent for longer than this is lost. */
  readonly lostAfterMs: number;
  /** How often silence is checked. */
  readonly checkIntervalMs: number;
}
export const CLUSTERS_LOGGER = Symbol('ClustersLogger');

interface Entry extends LivenessEntry {
  liveness: LivenessEntry['liveness'];
  lastSeenMs: number;
  lastHeartbeatAt: string | null;
}

/**
 * Decides from heartbeats which nodes are alive. It follows every node event (to know who is up) and
 * every heartbeat (to know who spoke last), and declares a node lost once it has been silent for longer
 * than `lostAfterMs`; a heartbeat from a lost node recovers it. The decisions go through the node
 * aggregate, so several monitors (one per replica) cannot record the same loss twice.
 */
@Injectable()
export class NodeLivenessMonitor {
  private readonly table = new Map<string, Entry>();
  private readonly inFlight = new Set<string>();
  private timer?: NodeJS.Timeout;
  private feed?: { stop(): Promise<void> };
  private heartbeats?: { stop(): void };

  constructor(
    @Inject(NODE_REPOSITORY) private readonly nodes: NodeRepository,
    @Inject(NODE_EVENT_FEED) private readonly events: NodeEventFeed,
    @Inject(HEARTBEAT_FEED) private readonly heartbeatFeed: HeartbeatFeed,
    @Inject(LIVENESS_SETTINGS) private readonly settings: LivenessSettings,
    @Inject(CLUSTERS_LOGGER) private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.heartbeats = this.heartbeatFeed.subscribe((hb) => this.onHeartbeat(hb));
    this.feed = await this.events.follow((event) => this.onNodeEvent(event));
    this.timer = setInterval(() => this.check(), this.settings.checkIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.heartbeats?.stop();
    await this.feed?.stop();
  }

  /** When the node last sent a heartbeat that this monitor received. */
  lastSeenAt(nodeId: string): string | null {
    return this.table.get(nodeId)?.lastHeartbeatAt ?? null;
  }

  /** How many known nodes are up, lost and left. */
  countByLiveness(): Record<LivenessEntry['liveness'], number> {
    const counts = { up: 0, lost: 0, left: 0 };
    for (const e of this.table.values()) counts[e.liveness]++;
    return counts;
  }

  private onNodeEvent(event: NodeEvent): void {
    const nodeId = event.data.nodeId;
    const entry = this.entry(nodeId);
    switch (event.type) {
      case 'NodeJoined':
      case 'NodeRejoined':
      case 'NodeRecovered':
        entry.liveness = 'up';
        // Silence is counted from the latest of: the last heartbeat, or this (re)start of watching.
        entry.lastSeenMs = Math.max(entry.lastSeenMs, performance.now());
        break;
      case 'NodeLost':
        entry.liveness = 'lost';
        break;
      case 'NodeLeft':
        entry.liveness = 'left';
        break;
      default:
        break;
    }
  }

  private onHeartbeat(hb: NodeHeartbeat): void {
    const entry = this.entry(hb.nodeId);
    entry.lastSeenMs = performance.now();
    entry.lastHeartbeatAt = new Date().toISOString();
    if (entry.liveness === 'lost') this.decide(hb.nodeId, 'recover', {});
  }

  private check(): void {
    for (const overdue of overdueNodes(this.table.values(), performance.now(), this.settings.lostAfterMs)) {
      this.decide(overdue.nodeId, 'lose', overdue);
    }
  }

  private entry(nodeId: string): Entry {
    let entry = this.table.get(nodeId);
    if (!entry) {
      entry = { nodeId, liveness: 'left', lastSeenMs: performance.now(), lastHeartbeatAt: null };
      this.table.set(nodeId, entry);
    }
    return entry;
  }

  private decide(
    nodeId: string,
    what: 'lose' | 'recover',
    detail: { silentForMs?: number; lastSeenAt?: string | null },
  ): void {
    if (this.inFlight.has(nodeId)) return;
    this.inFlight.add(nodeId);
    const id = randomUUID();
    const cause: Cause = { messageId: id, correlationId: id, actor: systemActor('clusters') };
    const ctx = commandContext(cause);
    execute(
      this.nodes,
      nodeId,
      (s) =>
        what === 'lose'
          ? markLost(
              s,
              { nodeId, lastSeenAt: detail.lastSeenAt ?? null, silentForMs: detail.silentForMs ?? 0 },
              ctx,
            )
          : markRecovered(s, { nodeId }, ctx),
      evolveNode,
    )
      .then(({ state, events }) => {
        if (state) this.entry(nodeId).liveness = state.liveness;
        if (events.length > 0)
          this.logger.info(
            { nodeId, event: events[0]!.type, ...detail },
            `node ${what === 'lose' ? 'lost' : 'recovered'}`,
          );
      })
      .catch((error: unknown) => this.logger.error({ err: error, nodeId }, `could not record node ${what}`))
      .finally(() => this.inFlight.delete(nodeId));
  }
}

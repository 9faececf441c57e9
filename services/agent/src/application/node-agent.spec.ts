import { PierError } from '@pier/contracts';
import { createLogger } from '@pier/observability';
import { AgentStartError, NodeAgent } from './node-agent';
import { type ContainerDriver, type ControlPlane, type IdentityStore, type NodeIdentity } from './ports';

const CLUSTER = '11111111-1111-4111-8111-111111111111';

class MemoryIdentities implements IdentityStore {
  writes: NodeIdentity[] = [];
  constructor(public current: NodeIdentity | null = null) {}
  async read() {
    return this.current;
  }
  async write(identity: NodeIdentity) {
    this.writes.push(identity);
    this.current = identity;
  }
}

/** Records what the agent asks of the control plane; answers are scripted per test. */
class ScriptedControlPlane implements ControlPlane {
  calls: string[] = [];
  beats: number[] = [];
  joinAnswers: (() => Promise<void>)[] = [];
  async join(request: Parameters<ControlPlane['join']>[0]) {
    this.calls.push(`join ${request.nodeId} ${request.name}`);
    await this.joinAnswers.shift()?.();
    return { nodeId: request.nodeId, clusterId: CLUSTER, heartbeatIntervalMs: 10 };
  }
  async rejoin(request: Parameters<ControlPlane['rejoin']>[0]) {
    this.calls.push(`rejoin ${request.nodeId}`);
    return { nodeId: request.nodeId, clusterId: CLUSTER, heartbeatIntervalMs: 10 };
  }
  async leave(request: Parameters<ControlPlane['leave']>[0]) {
    this.calls.push(`leave ${request.nodeId}`);
  }
  heartbeat(beat: Parameters<ControlPlane['heartbeat']>[0]) {
    this.beats.push(beat.seq);
  }
}

const driver: Pick<ContainerDriver, 'fingerprint'> = {
  fingerprint: async () => ({
    hostname: 'host-1',
    capacity: { cpuMillicores: 2000, memoryMiB: 1024 },
    engine: { driver: 'docker', version: '20.10', os: 'Debian', arch: 'x86_64', kernel: '6.1' },
  }),
};
const settings = { labels: {}, zone: 'default', agentVersion: 'test' };
const logger = createLogger('agent', 'silent');

describe('NodeAgent', () => {
  it('stores its identity before joining, then records the cluster and heartbeats', async () => {
    const identities = new MemoryIdentities();
    const plane = new ScriptedControlPlane();
    const agent = new NodeAgent(driver, plane, identities, { ...settings, joinToken: 'pjt_x' }, logger);
    await agent.start();
    expect(identities.writes[0]).toEqual({ nodeId: agent.nodeId, credential: expect.any(String) });
    expect(identities.writes[1]).toEqual({ ...identities.writes[0], clusterId: CLUSTER });
    expect(plane.calls).toEqual([`join ${agent.nodeId} host-1`]);
    await new Promise((r) => setTimeout(r, 50));
    expect(plane.beats.length).toBeGreaterThan(1);
    agent.disconnect();
    // Disconnecting is not leaving: the node stays in the cluster for the next agent to take over.
    expect(plane.calls).toEqual([`join ${agent.nodeId} host-1`]);
    const sent = plane.beats.length;
    await new Promise((r) => setTimeout(r, 30));
    expect(plane.beats.length).toBe(sent);
  });

  it('leaves only when told to, with its credential and the reason, and reports a refused leave', async () => {
    const plane = new ScriptedControlPlane();
    const identities = new MemoryIdentities();
    const agent = new NodeAgent(driver, plane, identities, { ...settings, joinToken: 'pjt_x' }, logger);
    await expect(agent.leave('too early')).rejects.toThrow('has not joined');
    await agent.start();
    const left: Parameters<ControlPlane['leave']>[0][] = [];
    plane.leave = async (request) => {
      left.push(request);
    };
    await agent.leave('decommissioned');
    expect(left).toEqual([
      { nodeId: agent.nodeId, credential: identities.current!.credential, reason: 'decommissioned' },
    ]);
    plane.leave = () => Promise.reject(new PierError('SERVICE_UNAVAILABLE', 'down'));
    await expect(agent.leave('again')).rejects.toThrow('down');
    agent.disconnect();
  });

  it('rejoins as the same node when it already has an identity', async () => {
    const identity = {
      nodeId: '33333333-3333-4333-8333-333333333333',
      credential: 'c'.repeat(43),
      clusterId: CLUSTER,
    };
    const plane = new ScriptedControlPlane();
    const agent = new NodeAgent(driver, plane, new MemoryIdentities(identity), settings, logger);
    await agent.start();
    agent.disconnect();
    expect(plane.calls[0]).toBe(`rejoin ${identity.nodeId}`);
  });

  it('retries while the control plane is unavailable', async () => {
    const plane = new ScriptedControlPlane();
    plane.joinAnswers.push(async () => {
      throw new PierError('SERVICE_UNAVAILABLE', 'down');
    });
    const agent = new NodeAgent(
      driver,
      plane,
      new MemoryIdentities(),
      { ...settings, joinToken: 'pjt_x' },
      logger,
    );
    await agent.start();
    agent.disconnect();
    expect(plane.calls.filter((c) => c.startsWith('join'))).toHaveLength(2);
  });

  it('gives up with exit code 3 and the reason when the join is refused', async () => {
    const plane = new ScriptedControlPlane();
    plane.joinAnswers.push(async () => {
      throw new PierError('JOIN_TOKEN_EXPIRED', 'the join token expired at 2026-01-01T00:00:00.000Z');
    });
    const agent = new NodeAgent(
      driver,
      plane,
      new MemoryIdentities(),
      { ...settings, joinToken: 'pjt_x' },
      logger,
    );
    await expect(agent.start()).rejects.toEqual(
      new AgentStartError(
        'join refused (JOIN_TOKEN_EXPIRED): the join token expired at 2026-01-01T00:00:00.000Z',
        3,
      ),
    );
    expect(plane.beats).toEqual([]);
  });

  it('refuses to start without a token or an identity, and without an engine', async () => {
    const plane = new ScriptedControlPlane();
    await expect(
      new NodeAgent(driver, plane, new MemoryIdentities(), settings, logger).start(),
    ).rejects.toMatchObject({ exitCode: 3 });
    const broken: Pick<ContainerDriver, 'fingerprint'> = {
      fingerprint: () => Promise.reject(new Error('connect ENOENT /var/run/docker.sock')),
    };
    await expect(
      new NodeAgent(broken, plane, new MemoryIdentities(), { ...settings, joinToken: 'x' }, logger).start(),
    ).rejects.toThrow('cannot reach the container engine: connect ENOENT /var/run/docker.sock');
    expect(plane.calls).toEqual([]);
  });

  it('offers the configured capacity instead of the engine’s when set', async () => {
    const plane = new ScriptedControlPlane();
    const seen: unknown[] = [];
    plane.join = async (request) => {
      seen.push(request.capacity);
      return { nodeId: request.nodeId, clusterId: CLUSTER, heartbeatIntervalMs: 1000 };
    };
    const agent = new NodeAgent(
      driver,
      plane,
      new MemoryIdentities(),
      { ...settings, joinToken: 'x', cpuMillicores: 500 },
      logger,
    );
    await agent.start();
    agent.disconnect();
    expect(seen).toEqual([{ cpuMillicores: 500, memoryMiB: 1024 }]);
  });
});

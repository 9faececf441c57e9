import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { type PierEvent, pierEvents, subjectsFor } from '@pier/contracts';
import { EventStore } from '@pier/eventstore';
import {
  connectTestNats,
  expectEventually,
  httpdVersion,
  type RunningProcess,
  startNodeProcess,
} from '@pier/testing';
import {
  type ApiInstance as Instance,
  type Platform,
  runSpace,
  serviceScript,
  startAgent,
  startNodes,
  startPlatform,
  stopPlatformWithApps,
} from './platform';

type Node = { id: string; name: string; state: string };

jest.setTimeout(300_000);

/** Long enough that a restarted agent is back well within it, even on a loaded machine. */
const LOST_AFTER_MS = 30_000;
const docker = new Docker({ socketPath: '/var/run/docker.sock' });
const web = httpdVersion('$HOSTNAME', { cpu: 100, memory: 32 });

/**
 * An agent stopped for an upgrade (SIGTERM, started again within the node-lost window) keeps its node and
 * its instances: nothing is rescheduled, the new agent adopts every container. Leaving the cluster is an
 * explicit act: drain the node, then `main.js leave`.
 */
describe('agent restart keeps its instances; leaving is explicit (real processes, NATS, Postgres, Docker)', () => {
  let platform: Platform;
  let admin: string;
  let store: EventStore<PierEvent>;
  const stateDir = mkdtempSync(join(tmpdir(), 'pier-agent-restart-'));
  // Spaces are named per run: another installation on this engine may run a space of the same name.
  const space = runSpace('restart');
  const base = `/spaces/${space}/apps/web`;

  beforeAll(async () => {
    platform = await startPlatform('agent-restart', { PIER_NODE_LOST_AFTER_MS: String(LOST_AFTER_MS) });
    admin = await platform.login(platform.admin.email, platform.admin.password);
    expect((await platform.call(admin, 'POST', '/spaces', { name: space })).status).toBe(201);
    await startNodes(platform, admin, stateDir, ['one', 'two']);
    expect(
      (await platform.call(admin, 'POST', `/spaces/${space}/apps`, { name: 'web', cluster: 'main' })).status,
    ).toBe(201);
    store = await EventStore.open(
      await connectTestNats('agent-restart'),
      subjectsFor(platform.prefix),
      pierEvents,
    );
  });

  afterAll(async () => {
    await store?.connection.close();
    // Its own containers, networks and streams only: other platforms on the machine keep theirs.
    await stopPlatformWithApps(platform);
    rmSync(stateDir, { recursive: true, force: true });
  });

  const nodes = async () => (await platform.call<{ items: Node[] }>(admin, 'GET', '/nodes')).body.items;
  const node = async (name: string) => (await nodes()).find((n) => n.name === name)!;
  const instances = async () =>
    (await platform.call<{ items: Instance[] }>(admin, 'GET', `${base}/instances`)).body.items;
  const agent = (name: string) => platform.processes.filter((p) => p.name === `agent-${name}`).at(-1)!;
  const containersOf = async (nodeId: string) =>
    (await docker.listContainers({ all: true, filters: { label: [`pier.node=${nodeId}`] } }))
      .map((c) => ({ id: c.Id, running: c.State === 'running' }))
      .sort((a, b) => a.id.localeCompare(b.id));
  const eventTypes = async (type: string, id: string) =>
    (await store.load(type, id)).events.map((e) => e.event.type);
  /** Every instance aggregate of the event store: a replacement would add one. */
  const instanceAggregates = async () => {
    const info = await store.jsm.streams.info(store.subjects.eventStream, {
      subjects_filter: store.subjects.aggregateType('instance'),
    });
    return Object.keys(info.state.subjects ?? {}).sort();
  };
  /** The instance answers on its published port, as the routers reach it. */
  const serves = async (i: Instance) => {
    const reply = await fetch(`http://127.0.0.1:${i.hostPorts[0]!.hostPort}/index.html`);
    expect(reply.status).toBe(200);
  };

  it('deploys two instances, one on each node', async () => {
    expect((await platform.call(admin, 'POST', `${base}/versions`, web)).status).toBe(201);
    expect((await platform.call(admin, 'POST', `${base}/versions/1/deploy`, { instances: 2 })).status).toBe(
      202,
    );
    await expectEventually(
      async () => {
        const live = await instances();
        expect(live.filter((i) => i.state === 'ready')).toHaveLength(2);
        expect(new Set(live.map((i) => i.nodeId)).size).toBe(2);
      },
      { timeoutMs: 90_000, what: 'two ready instances on two nodes' },
    );
  });

  it('keeps the node and its instances when the agent is stopped with SIGTERM and started again', async () => {
    const one = await node('one');
    const before = await instances();
    const onOne = before.filter((i) => i.nodeId === one.id);
    expect(onOne).toHaveLength(1);
    const containers = await containersOf(one.id);
    expect(containers).toEqual([{ id: expect.any(String), running: true }]);
    const aggregates = await instanceAggregates();

    expect(await agent('one').stop('SIGTERM', 30_000)).toBe(0);
    // Stopped, not gone: the node stays in the cluster and its container keeps serving.
    expect((await node('one')).state).not.toBe('left');
    expect(await containersOf(one.id)).toEqual(containers);
    await serves(onOne[0]!);

    startAgent(platform, 'one', join(stateDir, 'one')); // no token: its stored identity
    await expectEventually(async () => expect(agent('one').output()).toMatch(/adopted container/), {
      timeoutMs: 60_000,
      what: 'container adopted by the new agent',
    });
    await expectEventually(async () => expect((await node('one')).state).toBe('ready'), {
      timeoutMs: 30_000,
      what: 'node one ready',
    });

    const after = await instances();
    expect(after.map(({ id, nodeId, state, restarts }) => ({ id, nodeId, state, restarts }))).toEqual(
      before.map(({ id, nodeId }) => ({ id, nodeId, state: 'ready', restarts: 0 })),
    );
    expect(await containersOf(one.id)).toEqual(containers);
    await serves(after.find((i) => i.nodeId === one.id)!);
    expect(await instanceAggregates()).toEqual(aggregates);
    for (const i of after) expect(await eventTypes('instance', i.id)).not.toContain('InstanceStopRequested');
    const history = await eventTypes('node', one.id);
    expect(history).not.toContain('NodeLeft');
    expect(history).not.toContain('NodeLost');
    expect(history.at(-1)).toBe('NodeRejoined');
  });

  it('leaves explicitly: drain moves the instance away, then `leave` makes the node left and empty', async () => {
    const one = await node('one');
    const two = await node('two');
    expect((await platform.call(admin, 'POST', `/nodes/${one.id}/drain`)).status).toBe(200);
    await expectEventually(
      async () => {
        const live = await instances();
        expect(live).toHaveLength(2);
        expect(live.every((i) => i.nodeId === two.id && i.state === 'ready')).toBe(true);
      },
      { timeoutMs: 90_000, what: 'instances moved off the drained node' },
    );

    // The operator stops the agent (which leaves nothing yet), then runs the agent's leave command.
    expect(await agent('one').stop('SIGTERM', 30_000)).toBe(0);
    expect((await node('one')).state).toBe('draining');
    const leave: RunningProcess = startNodeProcess(
      'agent-one-leave',
      serviceScript('agent'),
      { ...platform.env, PIER_AGENT_NAME: 'one', PIER_AGENT_STATE_DIR: join(stateDir, 'one') },
      ['leave'],
    );
    platform.processes.push(leave);
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      leave.exited,
      new Promise((r) => (timer = setTimeout(() => r('timed out'), 90_000))),
    ]);
    clearTimeout(timer);
    expect({ code, output: code === 0 ? '' : leave.output() }).toEqual({ code: 0, output: '' });
    await expectEventually(async () => expect((await node('one')).state).toBe('left'), {
      timeoutMs: 30_000,
      what: 'node one left',
    });
    expect(await containersOf(one.id)).toEqual([]);
    const live = await instances();
    expect(live.every((i) => i.nodeId === two.id && i.state === 'ready')).toBe(true);
    for (const i of live) await serves(i);
  });

  it('leaves on SIGTERM with PIER_AGENT_LEAVE_ON_STOP=true: its instances stop and are placed elsewhere', async () => {
    const two = await node('two');
    const token = await platform.call<{ token: string }>(
      admin,
      'POST',
      `/clusters/${(await platform.call<{ items: { id: string }[] }>(admin, 'GET', '/clusters')).body.items[0]!.id}/join-tokens`,
      {},
    );
    const three = startNodeProcess('agent-three', serviceScript('agent'), {
      ...platform.env,
      PIER_AGENT_NAME: 'three',
      PIER_AGENT_STATE_DIR: join(stateDir, 'three'),
      PIER_AGENT_JOIN_TOKEN: token.body.token,
      PIER_AGENT_LEAVE_ON_STOP: 'true',
    });
    platform.processes.push(three);
    await expectEventually(async () => expect((await node('three'))?.state).toBe('ready'), {
      timeoutMs: 30_000,
      what: 'node three ready',
    });
    const threeId = (await node('three')).id;
    // Both instances run on node two since node one left: one moves to the new node (rebalancing).
    await expectEventually(
      async () => {
        const live = await instances();
        expect(live.filter((i) => i.state === 'ready')).toHaveLength(2);
        expect(live.map((i) => i.nodeId).sort()).toEqual([two.id, threeId].sort());
      },
      { timeoutMs: 90_000, what: 'an instance moved to node three' },
    );

    expect(await three.stop('SIGTERM', 90_000)).toBe(0);
    await expectEventually(async () => expect((await node('three')).state).toBe('left'), {
      timeoutMs: 30_000,
      what: 'node three left',
    });
    expect(await containersOf(threeId)).toEqual([]);
    await expectEventually(
      async () => {
        const live = await instances();
        expect(live.filter((i) => i.state === 'ready')).toHaveLength(2);
        expect(live.every((i) => i.nodeId === two.id)).toBe(true);
      },
      { timeoutMs: 90_000, what: 'two ready instances on node two' },
    );
  });
});

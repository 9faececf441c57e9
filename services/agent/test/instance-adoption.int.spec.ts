import { randomUUID } from 'node:crypto';
import { INSTANCE } from '@pier/contracts';
import { expectEventually } from '@pier/testing';
import { IMAGE, RuntimeHarness, webSpec } from './runtime-harness';

const readyWeb = () =>
  webSpec({ probes: { readiness: { http: { path: '/index.html', port: 8080 }, periodSeconds: 1 } } });

describe('InstanceRuntime: an agent that restarts', () => {
  const h = new RuntimeHarness('agent-adopt');

  beforeAll(() => h.setUp());
  afterAll(() => h.tearDown());

  const gone = async (containerId: string) =>
    expect(
      await h.docker
        .getContainer(containerId)
        .inspect()
        .catch((e: { statusCode: number }) => e.statusCode),
    ).toBe(404);

  it('adopts its running containers (no duplicate, probes resume, restarts go on) and removes strays', async () => {
    const first = await h.startRuntime();
    const id = await h.assign(readyWeb());
    const [initial] = await h.eventually(id, 'InstanceStarted');
    await h.eventually(id, 'InstanceReady');
    // One restart first, so the count the next agent must carry on is not 0.
    await h.docker.getContainer(initial!.data.containerId as string).kill();
    const [, restarted] = await h.eventually(id, 'InstanceStarted', 2);
    const containerId = restarted!.data.containerId as string;
    expect(restarted!.data.restarts).toBe(1);
    await h.eventually(id, 'InstanceReady', 2);
    await h.stopRuntime(first);
    expect((await h.docker.getContainer(containerId).inspect()).State.Running).toBe(true);

    const stray = await h.docker.createContainer({
      Image: IMAGE,
      Cmd: ['sleep', '3600'],
      Labels: { 'pier.managed': 'true', 'pier.node': h.nodeId, 'pier.instance': randomUUID() },
    });
    await stray.start();
    const seenBefore = (await h.events(id)).length;

    const second = await h.startRuntime();
    await expectEventually(() => gone(stray.id), { timeoutMs: 20_000, what: 'stray removed' });
    expect((await h.containersOf(id)).map((c) => c.Id)).toEqual([containerId]);
    // Probes resumed: readiness is reported again by the new agent, without a new container.
    await expectEventually(async () =>
      expect((await h.events(id)).slice(seenBefore).map((e) => e.type)).toEqual(['InstanceReady']),
    );
    // The restart count carries on from the container's label.
    await h.docker.getContainer(containerId).kill();
    const started = await h.eventually(id, 'InstanceStarted', 3);
    expect(started.map((s) => s.data.restarts)).toEqual([0, 1, 2]);
    await gone(containerId);
    await h.stopRuntime(second);
    await h.unassign(id);
  });

  it('reports the start of an adopted container whose start was never stored (the agent was killed first), once', async () => {
    const first = await h.startRuntime();
    const id = await h.assign(readyWeb());
    const [started] = await h.eventually(id, 'InstanceStarted');
    await h.eventually(id, 'InstanceReady');
    await h.stopRuntime(first);
    const containerId = started!.data.containerId as string;
    // As if the agent had been killed with its report still queued: the stream lacks the start.
    const stored = await h.store.load(INSTANCE, id);
    const start = stored.events.find((e) => e.event.type === 'InstanceStarted')!;
    await h.store.jsm.streams.deleteMessage(h.subjects.eventStream, start.position);
    expect(await h.types(id)).not.toContain('InstanceStarted');

    const second = await h.startRuntime();
    const [again] = await h.eventually(id, 'InstanceStarted');
    expect(again!.data).toMatchObject({ containerId, restarts: 0, host: '127.0.0.1' });
    expect(again!.data.hostPorts).toEqual(started!.data.hostPorts);
    expect((await h.containersOf(id)).map((c) => c.Id)).toEqual([containerId]);
    await h.stopRuntime(second);

    // Stored now: the next agent adopts without reporting it again (which would take it out of rotation).
    const seenBefore = (await h.events(id)).length;
    const third = await h.startRuntime();
    await expectEventually(async () =>
      expect((await h.events(id)).slice(seenBefore).map((e) => e.type)).toEqual(['InstanceReady']),
    );
    await h.stopRuntime(third);
    await h.unassign(id);
  });

  it('catches up with what changed while it was away, then follows new assignments', async () => {
    const first = await h.startRuntime();
    const leaving = await h.assign(webSpec());
    const [started] = await h.eventually(leaving, 'InstanceStarted');
    await h.stopRuntime(first);

    await h.unassign(leaving);
    const arriving = await h.assign(webSpec(), { app: 'api' });
    await h.startRuntime();
    // Unassigned while the agent was down: its container is a stray, and the stop is reported.
    const [stopped] = await h.eventually(leaving, 'InstanceStopped');
    expect(stopped!.data.exitCode).toEqual(expect.any(Number));
    await gone(started!.data.containerId as string);
    await h.eventually(arriving, 'InstanceStarted');

    const live = await h.assign(webSpec(), { app: 'live' });
    await h.eventually(live, 'InstanceStarted');
    const consumer = await h.store.jsm.consumers.info(h.subjects.eventStream, `agent-${h.nodeId}`);
    expect(consumer.config.filter_subject).toBe(h.subjects.aggregate('node-assignment', h.nodeId));
    expect(consumer.config.max_ack_pending).toBe(1);
  });
});

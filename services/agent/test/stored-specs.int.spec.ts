import { RuntimeHarness, webSpec } from './runtime-harness';

/**
 * Specs stored before the API checked them as it does now, or that no API ever accepted, reach the agent
 * in its assignment history: it starts anyway, runs what it can read and refuses the rest, each as a
 * fact about that instance alone.
 */
describe('InstanceRuntime with specs from old or broken events', () => {
  const h = new RuntimeHarness('agent-stored');

  beforeAll(() => h.setUp());
  afterAll(() => h.tearDown());

  it('starts with them in its history, runs a readable one, refuses an unreadable one as SPEC_INVALID', async () => {
    const spaced = await h.assign(
      webSpec({ probes: { readiness: { http: { path: '/a b', port: 8080 }, periodSeconds: 1 } } }),
    );
    const unreadable = await h.assignStored({ image: 'pier/busybox:latest', ports: 'all' });
    const nothing = await h.assignStored(null, { app: 'other' });
    const healthy = await h.assign(webSpec(), { app: 'healthy' });

    await h.startRuntime();
    for (const id of [unreadable, nothing]) {
      const [failed] = await h.eventually(id, 'InstanceFailed');
      expect(failed!.data.code).toBe('SPEC_INVALID');
      expect(failed!.data.reason).toMatch(/^this agent cannot run the spec: /);
      expect(await h.containersOf(id)).toEqual([]);
    }
    expect((await h.eventually(unreadable, 'InstanceFailed'))[0]!.data.reason).toBe(
      'this agent cannot run the spec: ports: Invalid input: expected array, received string',
    );
    // The old spec runs; its probe fails with the reason, the container stays.
    await h.eventually(spaced, 'InstanceStarted');
    const [notReady] = await h.eventually(spaced, 'InstanceNotReady');
    expect(notReady!.data.reason).toMatch(
      /^readiness probe failed: GET http:\/\/127\.0\.0\.1:\d+\/a b: not sent: Request path contains unescaped characters$/,
    );
    await h.eventually(healthy, 'InstanceReady');

    // Unassigned, each ends like any instance: stopped.
    for (const id of [spaced, unreadable, nothing]) await h.unassign(id);
    for (const id of [spaced, unreadable, nothing]) {
      const [stopped] = await h.eventually(id, 'InstanceStopped');
      expect(stopped!.data).toMatchObject({ exitCode: id === spaced ? expect.any(Number) : null });
    }
    expect(await h.types(unreadable)).toEqual(['InstanceFailed', 'InstanceStopped']);
    await h.unassignAll();
  });
});

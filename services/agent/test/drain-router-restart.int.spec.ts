import { type NatsConnection } from '@nats-io/transport-node';
import { DrainInstance, type RouterPresence as Presence, subjectsFor } from '@pier/contracts';
import { RpcClient, RpcServer } from '@pier/messaging';
import { createLogger } from '@pier/observability';
import { connectTestNats, expectEventually, uniqueName } from '@pier/testing';
import { randomUUID } from 'node:crypto';
import { NatsPlatformServices } from '../src/infrastructure/nats/nats.platform-services';
import { RouterPresence } from '../src/infrastructure/nats/router-presence';

/**
 * A router killed during a rollout (found by the fault suite's kill-router trials): its HAProxy keeps
 * running, frozen on the table it had, while the agents stop the old version's containers. The drain
 * found no router and the stop went on at once, so HAProxy kept sending those containers requests:
 * hundreds of 503s until the router was back. Now a drain that finds no router, while a router that was
 * alive never said it stopped, asks again until one is back (within the drain timeout).
 */
describe('draining an instance while the router restarts', () => {
  const prefix = uniqueName('drain-restart');
  const subjects = subjectsFor(prefix);
  const logger = createLogger('drain-test', 'silent');
  let nc: NatsConnection;
  let router: RpcServer | undefined;
  const drained: string[] = [];
  const announce = (state: Presence['state']) =>
    nc.publish(subjects.routerPresence, JSON.stringify({ router: 'r1', state }));

  function startRouter(): void {
    router = new RpcServer(nc, subjects, 'router', logger);
    router.handle(
      DrainInstance,
      async ({ instanceId }) => {
        drained.push(instanceId);
        return { instanceId, drained: true };
      },
      { everyReplica: true },
    );
    announce('alive');
  }

  async function killRouter(): Promise<void> {
    await router!.close();
    router = undefined;
  }

  beforeAll(async () => {
    nc = await connectTestNats(prefix);
  });
  afterAll(async () => {
    await router?.close();
    await nc.close();
  });

  it('waits for a killed router to come back, within the drain timeout; not for one that stopped', async () => {
    const [first, second, third, fourth] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const presence = new RouterPresence().start(nc, subjects);
    const platform = new NatsPlatformServices(
      new RpcClient(nc, subjects),
      { nodeId: randomUUID(), credential: 'c' },
      presence,
    );
    startRouter();
    await expectEventually(() => expect(presence.awaited()).toBe(true));
    expect(await platform.drainInstance(first, 2000)).toBe('drained');

    // The router is killed (no word); it is back 1.5 s later.
    await killRouter();
    const began = Date.now();
    const back = setTimeout(startRouter, 1500);
    try {
      expect(await platform.drainInstance(second, 10_000)).toBe('drained');
    } finally {
      clearTimeout(back);
    }
    expect(Date.now() - began).toBeGreaterThanOrEqual(1500);
    expect(drained).toEqual([first, second]);

    // Bounded by the timeout: a router that does not come back does not hold a stop up for longer.
    await killRouter();
    const waited = Date.now();
    expect(await platform.drainInstance(third, 1000)).toBe('no-router');
    expect(Date.now() - waited).toBeLessThan(2000);

    // A router that stopped (its HAProxy with it) is not waited for.
    announce('stopped');
    await expectEventually(() => expect(presence.awaited()).toBe(false));
    const stopped = Date.now();
    expect(await platform.drainInstance(fourth, 10_000)).toBe('no-router');
    expect(Date.now() - stopped).toBeLessThan(1000);
    presence.stop();
  });
});

import { type NatsConnection } from '@nats-io/transport-node';
import { type RouterPresence, routerPresenceSchema, subjectsFor } from '@pier/contracts';
import { connectTestNats, expectEventually, uniqueName } from '@pier/testing';
import { routerSetup, type RouterSetup, startRouter, tearDownRouter } from './support/router-harness';

/**
 * A router says it runs, every few seconds, and that it stopped when it stops: agents tell a killed
 * router (silent, its HAProxy still running on the table it had) from one that stopped with its HAProxy,
 * and hold their stops only for the first.
 */
describe('router presence', () => {
  const prefix = uniqueName('router-presence');
  let setup: RouterSetup;
  let nc: NatsConnection;
  const heard: RouterPresence[] = [];

  beforeAll(async () => {
    setup = await routerSetup(prefix);
    nc = await connectTestNats();
    nc.subscribe(subjectsFor(prefix).routerPresence, {
      callback: (_error, msg) => void heard.push(routerPresenceSchema.parse(msg.json())),
    });
    await nc.flush();
  });
  afterAll(() => tearDownRouter(setup, nc, undefined, []));

  it('announces itself while it runs and says so when it stops', async () => {
    const router = await startRouter(setup);
    await expectEventually(
      () => expect(heard.filter((h) => h.state === 'alive').length).toBeGreaterThanOrEqual(2),
      {
        timeoutMs: 6000,
      },
    );
    const id = heard[0]!.router;
    expect(heard.every((h) => h.router === id)).toBe(true);
    await router.close();
    await expectEventually(() => expect(heard[heard.length - 1]).toEqual({ router: id, state: 'stopped' }));
  });
});

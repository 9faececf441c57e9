import { randomUUID } from 'node:crypto';
import {
  APP,
  AppCreated,
  appId,
  createMessage,
  NODE,
  NodeJoined,
  type PierEvent,
  VersionCreated,
  VersionScaled,
} from '@pier/contracts';
import { type EventStore } from '@pier/eventstore';

/** Events the world of a scheduler test starts from, appended as the services would append them. */

const cause = () => {
  const id = randomUUID();
  return { messageId: id, correlationId: id, actor: { kind: 'system', id: 'test' } as const };
};
const now = () => new Date().toISOString();

/** A `NodeJoined` for a roomy node (64 cores, 64 GiB) of the cluster, as an agent's join; its id. */
export async function joinNode(
  store: EventStore<PierEvent>,
  clusterId: string,
  name: string,
): Promise<string> {
  const nodeId = randomUUID();
  await store.append(
    NODE,
    nodeId,
    [
      createMessage(
        NodeJoined,
        {
          nodeId,
          clusterId,
          name,
          labels: {},
          zone: 'z1',
          joinTokenId: randomUUID(),
          credentialSha256: '0'.repeat(64),
          capacity: { cpuMillicores: 64_000, memoryMiB: 65_536 },
          engine: { driver: 'docker', version: '20.10', os: 'linux', arch: 'x86_64', kernel: '6' },
          agentVersion: 'test',
          hostname: name,
        },
        cause(),
        now(),
      ),
    ],
    0,
  );
  return nodeId;
}

const spec = { image: 'pier/busybox:latest', resources: { cpu: 10, memory: 16 } };

/** App `name` of space `acme` on the cluster, with version 1 scaled to `instances`. */
export async function createApp(
  store: EventStore<PierEvent>,
  clusterId: string,
  name: string,
  instances: number,
): Promise<void> {
  const { version } = await store.append(
    APP,
    appId('acme', name),
    [
      createMessage(
        AppCreated,
        { space: 'acme', app: name, clusterId, defaultDomain: `${name}.acme.pier.localhost` },
        cause(),
        now(),
      ),
      createMessage(VersionCreated, { space: 'acme', app: name, version: 1, spec }, cause(), now()),
    ],
    0,
  );
  await scaleApp(store, name, instances, version);
}

/** Scales version 1 of app `name` (space `acme`). */
export async function scaleApp(
  store: EventStore<PierEvent>,
  name: string,
  instances: number,
  expected: number | 'any' = 'any',
): Promise<void> {
  await store.append(
    APP,
    appId('acme', name),
    [
      createMessage(
        VersionScaled,
        { space: 'acme', app: name, version: 1, instances, reason: 'scale' },
        cause(),
        now(),
      ),
    ],
    expected,
  );
}

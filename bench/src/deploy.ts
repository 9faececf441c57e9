/**
 * bench:deploy — time from the deploy API call to the first HTTP 200 through Pier's router, against the
 * same container run straight on the Docker engine through its API (create with the same command, CPU
 * and memory limits and a port published on 127.0.0.1, start, read the port) to the first HTTP 200 on
 * its published port. Both sides talk to the engine's API, as Pier's agent does: no `docker` CLI round
 * trip (a process start of its own, 50–100 ms) counts in the baseline. The two alternate (which goes
 * first flips every round) so drift on a shared machine hits both alike. Neither side has a readiness
 * probe: both count until the server answers, polled every 10 ms on a fresh connection.
 *
 * Pier puts every container on its space's own bridge network (tenant isolation), whose start costs the
 * engine more than one on the default bridge (here about 60 ms: the embedded DNS of a user-defined
 * network). So a second baseline runs the same container on such a network (created once, as an agent
 * creates a space's): Pier's ratio to it is the platform's own overhead, the first baseline's includes
 * the price of the network.
 *
 * Where Pier's time goes: each round's runtime events are timed as they reach a NATS subscriber
 * (the deploy call answered; the instance requested, assigned to a node, its container started, ready),
 * from the moment the call was sent, and the engine side's create, start and inspect calls likewise.
 * The engine's own events for Pier's container (create, network connect, start, from `docker events`)
 * split the agent's share from the engine's: assigned → create is the agent before the engine's first
 * call, start → `InstanceStarted` what it does after.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { subjectsFor } from '@pier/contracts';
import Docker from 'dockerode';
import { parseArgs } from './lib/args';
import { firstOk, getOnce } from './lib/http-probe';
import {
  type ApiClient,
  BENCH_SPACE,
  deleteBenchApp,
  ensureBenchSpace,
  localPlatform,
  waitFor,
} from './lib/local-platform';
import { compared, type Figure, progress, runBench } from './lib/report';
import { summarize } from './lib/stats';

const IMAGE = 'pier/busybox:latest';
const APP = 'deploy-latency';
const CPU_MILLICORES = 500;
const MEMORY_MIB = 64;
const COMMAND = ['sh', '-c', 'echo ok > /tmp/index.html && exec httpd -f -p 8080 -h /tmp'];
const BENCH_LABEL = { 'pier.bench': 'deploy' };

/** The baseline's user-defined network: a bridge like the one an agent creates for a space. */
const NETWORK = 'pier-bench-deploy';

async function benchNetwork(docker: Docker): Promise<string> {
  const found = await docker.listNetworks({ filters: { name: [NETWORK] } });
  const existing = found.find((n) => n.Name === NETWORK);
  if (existing) return existing.Id;
  const created = await docker.createNetwork({ Name: NETWORK, Driver: 'bridge', Labels: BENCH_LABEL });
  return created.id;
}

/** Milestones of one round, in ms from the moment it began; absent when not seen. */
type Phases = Record<string, number>;

/**
 * The milestones of the first subject (instance, container) whose first event of `kinds` came after
 * `since`, each relative to `since` and labelled as `kinds` says.
 */
function milestonesSince(
  seen: ReadonlyMap<string, Record<string, number>>,
  kinds: readonly (readonly [string, string])[],
  since: number,
): Phases {
  const [first] = kinds[0]!;
  for (const times of seen.values()) {
    if ((times[first] ?? -1) < since) continue;
    const phases: Phases = {};
    for (const [kind, label] of kinds) if (times[kind] !== undefined) phases[label] = times[kind]! - since;
    return phases;
  }
  return {};
}

/** The runtime events of the platform as they are published, each instance's first of every kind with its arrival time. */
class RuntimeEventWatch {
  private readonly seen = new Map<string, Record<string, number>>();
  private constructor(private readonly nc: NatsConnection) {}

  static async start(url: string, prefix: string): Promise<RuntimeEventWatch> {
    const nc = await connect({ servers: url.split(','), name: 'pier-bench-deploy' });
    const watch = new RuntimeEventWatch(nc);
    nc.subscribe(subjectsFor(prefix).context('runtime'), {
      callback: (error, msg) => {
        if (error) return;
        const at = performance.now();
        try {
          const event = msg.json<{
            type: string;
            data: { instanceId?: string; assignments?: { instanceId: string }[] };
          }>();
          const ids =
            event.data.assignments?.map((a) => a.instanceId) ??
            (event.data.instanceId ? [event.data.instanceId] : []);
          const type = event.type === 'InstancesAssigned' ? 'InstanceAssigned' : event.type;
          for (const id of ids) {
            const times = watch.seen.get(id) ?? {};
            times[type] ??= at;
            watch.seen.set(id, times);
          }
        } catch {
          // not an event
        }
      },
    });
    await nc.flush();
    return watch;
  }

  /** The milestones of the instance requested after `since` (performance.now()), relative to `since`. */
  phasesSince(since: number): Phases {
    return milestonesSince(this.seen, PIER_PHASES, since);
  }

  async close(): Promise<void> {
    await this.nc.close();
  }
}

/**
 * The engine's events for the app's containers (`docker events`), each container's first of every kind at
 * the engine's clock (wall time, as `performance.timeOrigin + performance.now()` is).
 */
class EngineEventWatch {
  private readonly seen = new Map<string, Record<string, number>>();
  private constructor(private readonly stream: NodeJS.ReadableStream & { destroy(): void }) {}

  static async start(docker: Docker, app: string): Promise<EngineEventWatch> {
    const stream = (await docker.getEvents({
      filters: { type: ['container', 'network'] },
    })) as unknown as NodeJS.ReadableStream & { destroy(): void };
    const watch = new EngineEventWatch(stream);
    let buffered = '';
    stream.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        try {
          const event = JSON.parse(line) as {
            Action: string;
            Type: string;
            timeNano: number;
            Actor: { ID: string; Attributes?: Record<string, string> };
          };
          // A network's connect names the container it connects; containers of the app only (its
          // create is what a round looks for).
          const id = event.Type === 'network' ? event.Actor.Attributes?.container : event.Actor.ID;
          if (!id) continue;
          if (event.Type === 'container' && event.Actor.Attributes?.['pier.app'] !== app) continue;
          const times = watch.seen.get(id) ?? {};
          times[event.Action] ??= event.timeNano / 1e6;
          watch.seen.set(id, times);
        } catch {
          // a partial or foreign line
        }
      }
    });
    return watch;
  }

  /** The milestones of the container created after `sinceWall` (epoch ms), relative to it. */
  phasesSince(sinceWall: number): Phases {
    return milestonesSince(this.seen, ENGINE_PHASES, sinceWall);
  }

  close(): void {
    this.stream.destroy();
  }
}

/** Engine event → milestone of Pier's container. */
const ENGINE_PHASES = [
  ['create', 'engine: container created'],
  ['connect', 'engine: network connected'],
  ['start', 'engine: container started'],
] as const;

/** Event → milestone of a Pier round, in the order they happen. */
const PIER_PHASES = [
  ['InstanceRequested', 'requested'],
  ['InstanceAssigned', 'assigned to a node'],
  ['InstanceStarted', 'container started (agent)'],
  ['InstanceReady', 'ready'],
] as const;

/** What `docker run -d -p 127.0.0.1::8080 --cpus --memory` asks the engine, through its API. */
async function engineRunToFirstOk(
  docker: Docker,
  timeoutMs: number,
  phases: Phases[],
  network?: string,
): Promise<number> {
  const start = performance.now();
  const container = await docker.createContainer({
    Image: IMAGE,
    Cmd: COMMAND,
    Labels: BENCH_LABEL,
    ExposedPorts: { '8080/tcp': {} },
    HostConfig: {
      PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
      NanoCpus: CPU_MILLICORES * 1_000_000,
      Memory: MEMORY_MIB * 1024 * 1024,
      ...(network ? { NetworkMode: network } : {}),
    },
  });
  const created = performance.now() - start;
  try {
    await container.start();
    const started = performance.now() - start;
    const info = await container.inspect();
    const port = Number(info.NetworkSettings.Ports['8080/tcp']?.[0]?.HostPort);
    const inspected = performance.now() - start;
    const ok = await firstOk(() => port, '/index.html', undefined, timeoutMs);
    phases.push({ created, started, inspected, 'first 200': ok - start });
    return ok - start;
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}

async function pierDeployToFirstOk(
  admin: ApiClient,
  routerPort: number,
  host: string,
  timeoutMs: number,
  events: RuntimeEventWatch,
  engine: EngineEventWatch,
  phases: Phases[],
): Promise<number> {
  const base = `/spaces/${BENCH_SPACE}/apps/${APP}`;
  const start = performance.now();
  const startWall = performance.timeOrigin + start;
  await admin.must('POST', `${base}/versions/1/deploy`, { instances: 1 });
  const answered = performance.now() - start;
  const ok = await firstOk(() => routerPort, '/index.html', host, timeoutMs);
  const elapsed = ok - start;
  phases.push({
    'deploy call answered': answered,
    ...events.phasesSince(start),
    ...engine.phasesSince(startWall),
    'first 200': elapsed,
  });
  // Back to nothing running, and the router answering without an instance, before the next round.
  await admin.must('POST', `${base}/versions/1/stop`, {});
  await waitFor(
    'instances of the previous round gone',
    120_000,
    async () => {
      const { items } = await admin.must<{ items: unknown[] }>('GET', `${base}/instances`);
      return items.length === 0 ? true : undefined;
    },
    100,
  );
  await waitFor('router without a ready instance', 30_000, async () =>
    (await getOnce(routerPort, '/index.html', host)).status === 200 ? undefined : true,
  );
  return elapsed;
}

/** Each milestone's p50 over the rounds, in the order they happen. */
function phaseFigures(side: string, rounds: readonly Phases[]): Figure[] {
  const labels = [...new Set(rounds.flatMap((r) => Object.keys(r)))];
  return labels
    .map((label) => ({
      label,
      p50: summarize(rounds.flatMap((r) => (r[label] === undefined ? [] : [r[label]!]))).p50,
    }))
    .sort((a, b) => a.p50 - b.p50)
    .map(({ label, p50 }) => ({ name: `${side}: ${label} p50`, value: p50, unit: 'ms from the call' }));
}

runBench(
  'deploy',
  () => parseArgs(process.argv.slice(2), { quick: { rounds: 8 }, default: { rounds: 30 } }),
  async ({ rounds }) => {
    const platform = localPlatform();
    const admin = await platform.admin();
    await ensureBenchSpace(admin);
    const host = `${APP}.${BENCH_SPACE}.${platform.baseDomain}`;
    await deleteBenchApp(admin, APP);
    const docker = new Docker();
    await docker
      .getImage(IMAGE)
      .inspect()
      .catch(() => {
        throw new Error(`image ${IMAGE} is missing: run ./deploy/local/up.sh (deps.sh builds it)`);
      });
    const base = `/spaces/${BENCH_SPACE}/apps/${APP}`;
    const events = await RuntimeEventWatch.start(
      platform.env.PIER_NATS_URL ?? 'nats://127.0.0.1:4222',
      platform.env.PIER_PREFIX ?? 'pier',
    );
    const engineEvents = await EngineEventWatch.start(docker, APP);
    try {
      await admin.must('POST', `/spaces/${BENCH_SPACE}/apps`, { name: APP, cluster: 'default' });
      await admin.must('POST', `${base}/versions`, {
        image: IMAGE,
        command: COMMAND,
        ports: [{ containerPort: 8080, protocol: 'http' }],
        resources: { cpu: CPU_MILLICORES, memory: MEMORY_MIB },
        stop: { gracePeriodSeconds: 1 },
      });
      const network = await benchNetwork(docker);
      type Side = 'pier' | 'engine' | 'network';
      const samples: Record<Side, number[]> = { pier: [], engine: [], network: [] };
      const phases: Record<Side, Phases[]> = { pier: [], engine: [], network: [] };
      const once = (side: Side, keep: boolean): Promise<number> =>
        side === 'pier'
          ? pierDeployToFirstOk(
              admin,
              platform.routerPort,
              host,
              120_000,
              events,
              engineEvents,
              keep ? phases.pier : [],
            )
          : engineRunToFirstOk(
              docker,
              60_000,
              keep ? phases[side] : [],
              side === 'network' ? network : undefined,
            );
      const sides: Side[] = ['pier', 'engine', 'network'];
      // One round of each not counted: the first HAProxy layout for the app, page cache, Docker warm-up.
      progress('warm-up round');
      for (const side of sides) await once(side, false);
      for (let i = 0; i < Number(rounds); i++) {
        // Which side goes first turns every round, so drift on a shared machine hits all alike.
        for (let k = 0; k < sides.length; k++) {
          const side = sides[(i + k) % sides.length]!;
          samples[side].push(await once(side, true));
        }
        progress(
          `round ${i + 1}/${rounds}: ` +
            sides.map((side) => `${side} ${Math.round(samples[side].at(-1)!)} ms`).join(', '),
        );
      }
      const p = summarize(samples.pier);
      const d = summarize(samples.engine);
      const n = summarize(samples.network);
      const engine = 'engine API run → first 200';
      const onNetwork = 'engine API run on a user-defined network';
      const figures: Figure[] = [
        compared('deploy → first 200 via router p50', 'ms', p.p50, `${engine} p50`, d.p50),
        compared('deploy → first 200 via router p99', 'ms', p.p99, `${engine} p99`, d.p99),
        compared(
          'deploy → first 200 via router p50, against a run on its own network',
          'ms',
          p.p50,
          `${onNetwork} p50`,
          n.p50,
        ),
        compared(
          'deploy → first 200 via router p99, against a run on its own network',
          'ms',
          p.p99,
          `${onNetwork} p99`,
          n.p99,
        ),
        { name: 'Pier overhead over the engine p50', value: p.p50 - d.p50, unit: 'ms' },
        { name: 'Pier overhead over the engine on its own network p50', value: p.p50 - n.p50, unit: 'ms' },
        ...phaseFigures('Pier', phases.pier),
        ...phaseFigures('engine', phases.engine),
        ...phaseFigures('engine on its own network', phases.network),
      ];
      return {
        figures,
        details: {
          rounds,
          pierMs: p,
          engineMs: d,
          engineOnNetworkMs: n,
          samplesMs: Object.fromEntries(sides.map((side) => [side, samples[side].map(Math.round)])),
          phases: {
            definition:
              "ms from the deploy call (engine: the create call) to each milestone, p50 over rounds; Pier's events as they reach a NATS subscriber",
            ...phases,
          },
        },
      };
    } finally {
      await events.close();
      engineEvents.close();
      await deleteBenchApp(admin, APP).catch((error: unknown) =>
        progress(`cleanup failed: ${(error as Error).message}`),
      );
      const left = await docker
        .listContainers({ all: true, filters: { label: ['pier.bench=deploy'] } })
        .catch(() => []);
      for (const c of left)
        await docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined);
      await docker
        .getNetwork(NETWORK)
        .remove()
        .catch(() => undefined);
    }
  },
);

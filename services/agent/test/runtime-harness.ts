import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { type NatsConnection } from '@nats-io/transport-node';
import Docker from 'dockerode';
import {
  createMessage,
  INSTANCE,
  InstanceAssigned,
  InstanceUnassigned,
  NODE_ASSIGNMENT,
  PierError,
  type PierEvent,
  RevealSecret,
  type Subjects,
  storedVersionSpecSchema,
  subjectsFor,
  type VersionSpecInput,
} from '@pier/contracts';
import { EventStore } from '@pier/eventstore';
import { RpcClient, RpcServer } from '@pier/messaging';
import { createLogger } from '@pier/observability';
import { connectTestNats, deleteStreams, expectEventually, uniqueName } from '@pier/testing';
import {
  type InstanceRuntime,
  type InstanceRuntimeSettings,
} from '../src/application/run-instances/instance-runtime';
import { DockerDriver } from '../src/infrastructure/docker/docker.driver';
import { createInstanceRuntime } from '../src/infrastructure/instance-runtime.factory';
import { AgentEventCatalog } from '../src/infrastructure/nats/agent-events.catalog';

export const IMAGE = 'pier/busybox:latest';
/** A web server answering `<container hostname> v1` on 8080. */
export const WEB_COMMAND = [
  'sh',
  '-c',
  'echo "$HOSTNAME v1" > /tmp/index.html && exec httpd -f -p 8080 -h /tmp',
];
export const webSpec = (extra: Partial<VersionSpecInput> = {}): VersionSpecInput => ({
  image: IMAGE,
  command: WEB_COMMAND,
  ports: [{ containerPort: 8080, protocol: 'http' }],
  // Enough CPU that `docker exec` (exec probes, the tests' own execs) stays quick on a busy machine.
  resources: { cpu: 1000, memory: 32 },
  stop: { gracePeriodSeconds: 1 },
  ...extra,
});

/** Millisecond back-off so restarts are observable in a test. */
export const FAST_BACKOFF = { baseMs: 200, capMs: 1000, resetAfterMs: 60_000 };

type Event = { type: string; data: Record<string, unknown>; occurredAt: string };

/**
 * One test file's world: its own stream prefix and node id, an event store, fake control-plane services
 * (RevealSecret from an in-memory map), runtimes driven directly, and clean-up of every container
 * labelled with the node.
 */
export class RuntimeHarness {
  readonly prefix: string;
  readonly nodeId = randomUUID();
  readonly credential = randomBytes(32).toString('base64url');
  readonly docker = new Docker();
  readonly secrets = new Map<string, unknown>();
  readonly revealCalls: { space: string; name: string; caller: unknown }[] = [];
  nc!: NatsConnection;
  subjects!: Subjects;
  store!: EventStore<PierEvent>;
  server!: RpcServer;
  private readonly runtimes = new Set<InstanceRuntime>();
  private readonly assigned = new Set<string>();
  private readonly logger = createLogger('agent-test', 'silent');

  constructor(label: string) {
    this.prefix = uniqueName(label);
  }

  async setUp(): Promise<void> {
    this.nc = await connectTestNats(this.prefix);
    this.subjects = subjectsFor(this.prefix);
    // The agent's own view of the events, so that tests can store assignments only an agent takes.
    this.store = await EventStore.open(this.nc, this.subjects, new AgentEventCatalog());
    this.server = new RpcServer(this.nc, this.subjects, 'fake-auth', this.logger);
    this.server.handle(RevealSecret, async (request) => {
      this.revealCalls.push(request);
      const value = this.secrets.get(`${request.space}/${request.name}`);
      if (value === undefined) throw new PierError('SECRET_NOT_FOUND', `no secret ${request.name}`);
      return { value };
    });
  }

  async tearDown(): Promise<void> {
    await Promise.all([...this.runtimes].map((r) => r.shutdown().catch(() => undefined)));
    await this.removeContainers();
    await this.removeEmptyNetworks();
    await this.server?.close();
    if (this.nc) {
      await deleteStreams(this.nc, this.prefix);
      await this.nc.close();
    }
  }

  async removeContainers(): Promise<void> {
    const left = await this.docker.listContainers({
      all: true,
      filters: { label: [`pier.node=${this.nodeId}`] },
    });
    await Promise.all(
      left.map((c) =>
        this.docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined),
      ),
    );
  }

  /**
   * This harness's spaces' networks nobody uses any more (the runtimes remove them too, but only while
   * they run); another installation's on the same engine are none of its business.
   */
  async removeEmptyNetworks(): Promise<void> {
    const networks = await this.docker.listNetworks({
      filters: { label: ['pier.managed=true', `pier.installation=${this.prefix}`] },
    });
    for (const n of networks) {
      const used = await this.docker.listContainers({ all: true, filters: { network: [n.Id] } });
      if (used.length > 0) continue;
      await this.docker
        .getNetwork(n.Id)
        .remove()
        .catch(() => undefined);
    }
  }

  async startRuntime(settings: Partial<InstanceRuntimeSettings> = {}): Promise<InstanceRuntime> {
    const runtime = createInstanceRuntime({
      store: this.store,
      rpc: new RpcClient(this.nc, this.subjects, 2000),
      driver: new DockerDriver({ installation: this.prefix }),
      node: { nodeId: this.nodeId, credential: this.credential },
      settings: {
        advertiseHost: '127.0.0.1',
        backoff: FAST_BACKOFF,
        reconcileIntervalMs: 300,
        drainTimeoutMs: 1000,
        strayGraceSeconds: 1,
        networkIdleSeconds: 1,
        ...settings,
      },
      logger: this.logger,
    });
    this.runtimes.add(runtime);
    await runtime.start();
    return runtime;
  }

  async stopRuntime(runtime: InstanceRuntime): Promise<void> {
    await runtime.shutdown();
    this.runtimes.delete(runtime);
  }

  /**
   * Appends `InstanceAssigned` for a new instance of acme/web v1 (or what `ref` says); returns its id. The
   * spec gets its defaults as an agent reads it (`storedVersionSpecSchema`): a test may assign what the
   * API refuses today, as a version stored before its rules would hold.
   */
  async assign(
    spec: VersionSpecInput,
    ref: { app?: string; version?: number; space?: string } = {},
  ): Promise<string> {
    return this.assignStored(storedVersionSpecSchema.parse(spec), ref);
  }

  /** Like `assign`, with `spec` stored exactly as given, unchecked: what an old or broken event holds. */
  async assignStored(
    spec: unknown,
    ref: { app?: string; version?: number; space?: string } = {},
  ): Promise<string> {
    const instanceId = randomUUID();
    const data = {
      nodeId: this.nodeId,
      instanceId,
      space: ref.space ?? 'acme',
      app: ref.app ?? 'web',
      version: ref.version ?? 1,
      spec,
    } as InstanceAssigned['data'];
    await this.appendAssignment(
      createMessage(InstanceAssigned, data, this.cause(), new Date().toISOString()),
    );
    this.assigned.add(instanceId);
    return instanceId;
  }

  /** Unassigns every instance still assigned, so restart loops of finished tests stop churning. */
  async unassignAll(): Promise<void> {
    for (const id of [...this.assigned]) await this.unassign(id);
  }

  async unassign(instanceId: string): Promise<void> {
    this.assigned.delete(instanceId);
    const data = { nodeId: this.nodeId, instanceId, reason: 'scale-down' as const };
    await this.appendAssignment(
      createMessage(InstanceUnassigned, data, this.cause(), new Date().toISOString()),
    );
  }

  /** The instance's events as the agent reported them. */
  async events(instanceId: string): Promise<Event[]> {
    const { events } = await this.store.load(INSTANCE, instanceId);
    return events.map((e) => ({
      type: e.event.type,
      data: e.event.data as Record<string, unknown>,
      occurredAt: e.event.metadata.occurredAt,
    }));
  }

  /** Waits until the instance has at least `count` events of `type`; returns them all. */
  async eventually(instanceId: string, type: string, count = 1, timeoutMs = 30_000): Promise<Event[]> {
    return expectEventually(
      async () => {
        const found = (await this.events(instanceId)).filter((e) => e.type === type);
        expect(found.length).toBeGreaterThanOrEqual(count);
        return found;
      },
      { timeoutMs, intervalMs: 200, what: `${count} × ${type} for ${instanceId}` },
    );
  }

  async types(instanceId: string): Promise<string[]> {
    return (await this.events(instanceId)).map((e) => e.type);
  }

  /** Containers of an instance, running or not. */
  async containersOf(instanceId: string): Promise<Docker.ContainerInfo[]> {
    return this.docker.listContainers({ all: true, filters: { label: [`pier.instance=${instanceId}`] } });
  }

  /** Runs a command in a container and returns its exit code. */
  async execIn(containerId: string, command: string[]): Promise<{ exitCode: number; output: string }> {
    const exec = await this.docker
      .getContainer(containerId)
      .exec({ Cmd: command, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    let output = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        output += chunk.toString();
        done();
      },
    });
    this.docker.modem.demuxStream(stream, sink, sink);
    await new Promise((resolve) => stream.on('end', resolve));
    for (;;) {
      const info = await exec.inspect();
      if (!info.Running) return { exitCode: info.ExitCode ?? -1, output };
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private cause() {
    return {
      messageId: randomUUID(),
      correlationId: randomUUID(),
      actor: { kind: 'service' as const, id: 'test-scheduler' },
    };
  }

  private async appendAssignment(event: PierEvent): Promise<void> {
    await this.store.append(NODE_ASSIGNMENT, this.nodeId, [event], 'any');
  }
}

/** `GET http://127.0.0.1:<port><path>`: status and body, or status 0 when nothing answers. */
export async function httpGet(port: number, path = '/index.html'): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(3000) });
    return { status: res.status, body: (await res.text()).trim() };
  } catch {
    return { status: 0, body: '' };
  }
}

export type { Event as ReportedEvent };

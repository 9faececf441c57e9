import { CONTAINER_SECURITY } from '../../domain/container-hardening';
import { type ContainerSpec } from '../../domain/container-spec';
import { MemoryDriver } from './memory.driver';

const spec = (name: string, labels: Record<string, string> = {}): ContainerSpec => ({
  name,
  image: 'pier/busybox:latest',
  labels: { 'pier.node': 'n1', ...labels },
  env: {},
  cpuMillicores: 100,
  memoryMiB: 32,
  ports: [
    { containerPort: 8080, protocol: 'tcp' },
    { containerPort: 9090, protocol: 'udp' },
  ],
  publishHost: '127.0.0.1',
  network: { name: 'pier-acme', labels: {}, aliases: [] },
  security: CONTAINER_SECURITY,
  pidsLimit: 1024,
  logs: { maxSize: '10m', maxFiles: 3 },
});

describe('MemoryDriver', () => {
  let clock = 1000;
  const driver = () =>
    new MemoryDriver({
      hostname: 'hollow-1',
      capacity: { cpuMillicores: 8000, memoryMiB: 16384 },
      firstHostPort: 30000,
      now: () => clock,
    });

  it('reports the configured capacity and always has images', async () => {
    const d = driver();
    const fp = await d.fingerprint();
    expect(fp).toMatchObject({ hostname: 'hollow-1', capacity: { cpuMillicores: 8000, memoryMiB: 16384 } });
    expect(fp.engine.driver).toBe('memory');
    expect(await d.localImage('anything:latest')).toMatchObject({ pulledWithCredentials: false });
    await expect(d.pullImage('anything:latest')).resolves.toBeUndefined();
  });

  it('starts a container at once, running, with distinct published ports', async () => {
    const d = driver();
    clock = 5000;
    const a = await d.start(spec('a'));
    const b = await d.start(spec('b'));
    expect(a).toMatchObject({ running: true, exitCode: null, startedAt: 5000, finishedAt: null });
    expect(a.ports).toEqual([
      { containerPort: 8080, protocol: 'tcp', hostPort: 30000 },
      { containerPort: 9090, protocol: 'udp', hostPort: 30001 },
    ]);
    expect(b.ports.map((p) => p.hostPort)).toEqual([30002, 30003]);
    expect(a.id).not.toBe(b.id);
    expect(await d.inspect(a.id)).toEqual(a);
  });

  it('refuses a second container with the same name, like the engine', async () => {
    const d = driver();
    await d.start(spec('same'));
    await expect(d.start(spec('same'))).rejects.toThrow(/already in use/);
  });

  it('lists containers carrying every label asked for', async () => {
    const d = driver();
    const a = await d.start(spec('a', { 'pier.instance': 'i1' }));
    await d.start(spec('b', { 'pier.instance': 'i2' }));
    expect((await d.list({ 'pier.node': 'n1' })).length).toBe(2);
    const only = await d.list({ 'pier.node': 'n1', 'pier.instance': 'i1' });
    expect(only.map((c) => c.id)).toEqual([a.id]);
    expect(only[0]).toMatchObject({ running: true });
    expect(await d.list({ 'pier.node': 'n2' })).toEqual([]);
  });

  it('wait resolves when the container is stopped, with the exit code', async () => {
    const d = driver();
    const c = await d.start(spec('a'));
    let done = false;
    const waiting = d.wait(c.id, new AbortController().signal).then((r) => {
      done = true;
      return r;
    });
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    clock = 9000;
    await d.stop(c.id);
    await expect(waiting).resolves.toEqual({ exitCode: 143 });
    expect(await d.inspect(c.id)).toMatchObject({ running: false, exitCode: 143, finishedAt: 9000 });
    // Waiting on a stopped container answers at once.
    await expect(d.wait(c.id, new AbortController().signal)).resolves.toEqual({ exitCode: 143 });
  });

  it('wait rejects when aborted, and for an unknown container', async () => {
    const d = driver();
    const c = await d.start(spec('a'));
    const abort = new AbortController();
    const waiting = d.wait(c.id, abort.signal);
    abort.abort();
    await expect(waiting).rejects.toThrow(/aborted/);
    await expect(d.wait('nope', new AbortController().signal)).rejects.toThrow(/no such container/);
  });

  it('destroy kills and removes; stopping or destroying what is gone is no error', async () => {
    const d = driver();
    const c = await d.start(spec('a'));
    const waiting = d.wait(c.id, new AbortController().signal);
    await d.destroy(c.id);
    await expect(waiting).resolves.toEqual({ exitCode: 137 });
    expect(await d.inspect(c.id)).toBeNull();
    expect(d.size).toBe(0);
    await expect(d.stop(c.id)).resolves.toBeUndefined();
    await expect(d.destroy(c.id)).resolves.toBeUndefined();
    // The name is free again.
    await expect(d.start(spec('a'))).resolves.toMatchObject({ running: true });
  });

  it('keeps a network per name while a container uses it', async () => {
    const d = driver();
    clock = 7000;
    const c = await d.start(spec('a'));
    expect(await d.listNetworks({})).toEqual([
      { id: 'pier-acme', name: 'pier-acme', labels: {}, createdAt: 7000, containers: 1 },
    ]);
    expect(await d.removeUnusedNetwork('pier-acme')).toBe(false);
    await d.destroy(c.id);
    expect(await d.removeUnusedNetwork('pier-acme')).toBe(true);
    expect(await d.listNetworks({})).toEqual([]);
  });

  it('exec succeeds in a running container only', async () => {
    const d = driver();
    const c = await d.start(spec('a'));
    await expect(d.exec(c.id)).resolves.toEqual({ exitCode: 0, output: '' });
    await d.stop(c.id);
    await expect(d.exec(c.id)).rejects.toThrow(/not running/);
  });
});

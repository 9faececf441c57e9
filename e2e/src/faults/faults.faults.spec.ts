import { writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { expectEventually, httpdVersion, httpJson } from '@pier/testing';
import { platformContainers, removePlatformDocker, viaRouter } from '../platform';
import { FaultPlatform, type ServiceName } from './fault-platform';
import { auditStream, readModelDifferences, rebuildReadModels, settledProblems } from './invariants';
import { restartDockerd } from './own-infrastructure';
import {
  type FaultName,
  FAULTS,
  formatFaultTable,
  maxOutageMs,
  outageMs,
  type TrialResult,
  seededRandom,
} from './trials';

/**
 * The fault-injection suite (issue 10): one platform of real processes run by the local deployment's
 * scripts (up.sh, agent.sh, down.sh; each process under their supervisor), with NATS and Postgres of its
 * own. Each trial rolls out a new version of the app or scales the running one (2 ↔ 3 instances; a
 * fault's first trial is a rollout, then they alternate) under steady load through the router and
 * injects one fault at a random point of that (seeded, printed):
 * SIGKILL of each service in turn, a node whose agent dies for good, a restart of NATS, of Postgres, a
 * `down.sh` / `up.sh` cycle, and a restart of the machine's Docker engine, last. After each the
 * deploy must settle with exactly the desired instances and one container each, no orphan container,
 * every event in the stream once, the read models of clusters, auth and the scheduler rebuilt from the
 * stream equal to the live ones row for row, and no failed request except those a killed router had in
 * flight.
 *
 * Settings (environment): PIER_FAULTS_TRIALS (trials per fault, 1), PIER_FAULTS_SEED (random points),
 * PIER_FAULTS_ONLY (comma-separated fault names), PIER_FAULTS_REPORT (a JSON file for bench:faults),
 * PIER_FAULTS_KEEP_LOGS (a directory the processes' logs are copied to at the end).
 */
const TRIALS = Number(process.env.PIER_FAULTS_TRIALS ?? 1);
const SEED = Number(process.env.PIER_FAULTS_SEED ?? Math.floor(Math.random() * 1e9));
const ONLY = process.env.PIER_FAULTS_ONLY?.split(',').filter(Boolean);
const SELECTED = FAULTS.filter((f) => !ONLY || ONLY.includes(f.name));
/** Requests running at once in the steady load: the most a killed router can have in flight. */
const WORKERS = 4;
const RECOVERY_TIMEOUT_MS = 150_000;

jest.setTimeout(Math.max(1, TRIALS) * SELECTED.length * 240_000 + 180_000);

const web = httpdVersion('$HOSTNAME', { cpu: 50, memory: 16 });

/** One command on HAProxy's runtime API socket, and its answer. */
function haproxyCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const connection = createConnection(socket, () => connection.end(`${command}\n`));
    let answer = '';
    connection.on('data', (chunk) => (answer += chunk.toString()));
    connection.on('end', () => resolve(answer));
    connection.on('error', reject);
  });
}

describe('fault injection: deploy and scale under load survive every fault (real processes)', () => {
  const platform = new FaultPlatform();
  const random = seededRandom(SEED);
  const results: TrialResult[] = [];
  let token = '';
  let target = 2;
  /** The version that runs: trials alternate between scaling it and rolling out the next one. */
  let current = 1;
  const space = 'faults';
  const base = `/spaces/${space}/apps/web`;

  /** An API call that, like a user, tries again while the platform answers nothing or 5xx. */
  async function call<T = unknown>(method: string, path: string, body?: unknown) {
    return expectEventually(
      async () => {
        if (!token) token = await login();
        let reply;
        try {
          reply = await httpJson<T>(method, `${platform.api}${path}`, body, {
            authorization: `Bearer ${token}`,
          });
        } catch (error) {
          throw new Error(`${method} ${path}: ${(error as Error).message}`);
        }
        if (reply.status === 401) token = '';
        if (reply.status === 401 || reply.status >= 500)
          throw new Error(`${method} ${path} answered ${reply.status}: ${JSON.stringify(reply.body)}`);
        return reply;
      },
      { timeoutMs: 120_000, intervalMs: 250, what: `${method} ${path}` },
    );
  }

  async function login(): Promise<string> {
    const reply = await httpJson<{ accessToken: string }>(
      'POST',
      `${platform.api}/auth/login`,
      platform.admin,
    );
    if (reply.status !== 200) throw new Error(`login answered ${reply.status}`);
    return reply.body.accessToken;
  }

  const instances = async () =>
    (
      await call<{ items: { id: string; version: number; nodeId: string | null; state: string }[] }>(
        'GET',
        `${base}/instances`,
      )
    ).body.items;

  /** Whether the last trial ended with every check passed: a failed one may leave a mess behind. */
  let healthy = true;

  /**
   * Waits until the platform has settled: every instance of the current version and only those, no
   * problem left (see `settledProblems`), spread over the nodes (one node never runs two more than the
   * other: after a node loss the scheduler moves instances back), and `target` instances answering.
   * Fails with a diagnosis.
   */
  async function settled(what: string): Promise<void> {
    const nodes = await Promise.all(platform.agentNames.map(nodeId));
    await expectEventually(
      async () => {
        const live = await instances();
        expect(await settledProblems(platform, live, target)).toEqual([]);
        expect(live.filter((i) => i.version !== current)).toEqual([]);
        const perNode = nodes.map((node) => live.filter((i) => i.nodeId === node).length);
        expect(Math.max(...perNode) - Math.min(...perNode)).toBeLessThanOrEqual(1);
        expect(await responders()).toHaveLength(target);
      },
      { timeoutMs: RECOVERY_TIMEOUT_MS, intervalMs: 250, what },
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${await diagnosis()}`);
    });
  }

  /**
   * After a failed trial, so that one bug does not fail every fault after it: every process running
   * again, then a rollout of a fresh version (replacing whatever instances the failure left) settled
   * without a fault. A platform that does not come back from that fails the next fault's test, saying so.
   */
  async function restore(): Promise<void> {
    for (const p of platform.processes.values()) await p.start();
    await platform.waitReady([...platform.processes.keys()], RECOVERY_TIMEOUT_MS);
    await rollout(target);
    // A trial that failed half-way may have left an older version running (its rollout never got to
    // stop it): stop every version but the new one.
    const others = new Set((await instances()).map((i) => i.version).filter((v) => v !== current));
    for (const version of others) {
      expect([202, 409]).toContain((await call('POST', `${base}/versions/${version}/stop`)).status);
    }
    await settled('restoring the platform after a failed trial');
    healthy = true;
  }

  /** The id of the node an agent runs. */
  async function nodeId(name: string): Promise<string> {
    const nodes = (await call<{ items: { id: string; name: string }[] }>('GET', '/nodes')).body.items;
    const node = nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no node ${name} in ${JSON.stringify(nodes)}`);
    return node.id;
  }

  /** Scales the running version; a retry after a lost answer may meet the scale done (any 4xx). */
  async function scale(instances: number): Promise<void> {
    const reply = await call('POST', `${base}/versions/${current}/scale`, { instances });
    expect([202, 409]).toContain(reply.status);
  }

  /**
   * Rolls out a new version with `count` instances: creates it, deploys it next to the running one, waits
   * until all of its instances are ready, stops the old one (its traffic moves to the new).
   */
  async function rollout(count: number): Promise<void> {
    const created = await call<{ version: number }>('POST', `${base}/versions`, web);
    expect(created.status).toBe(201);
    const next = created.body.version;
    expect([202, 409]).toContain(
      (await call('POST', `${base}/versions/${next}/deploy`, { instances: count })).status,
    );
    await expectEventually(
      async () =>
        expect((await instances()).filter((i) => i.version === next && i.state === 'ready')).toHaveLength(
          count,
        ),
      { timeoutMs: RECOVERY_TIMEOUT_MS, intervalMs: 250, what: `version ${next} ready` },
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${await diagnosis()}`);
    });
    const previous = current;
    current = next;
    expect([202, 409]).toContain((await call('POST', `${base}/versions/${previous}/stop`)).status);
  }

  /** The instances (container hostnames) answering 20 requests through the router; a failure fails it. */
  async function responders(): Promise<string[]> {
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const r = await viaRouter(platform.routerHttpPort, `web.${space}.pier.localhost`);
      if (r.status !== 200) throw new Error(`the router answered ${r.status}: ${r.body.slice(0, 200)}`);
      seen.add(r.body);
    }
    return [...seen].sort();
  }

  /** What a failed trial looked like: instances, containers, and the servers HAProxy has. */
  async function diagnosis(): Promise<string> {
    const live = await instances().catch((error: unknown) => String(error));
    const containers = (await platformContainers(platform)).map((c) => ({
      hostname: c.Id.slice(0, 12),
      state: c.State,
      instance: c.Labels['pier.instance'],
      node: c.Labels['pier.node'],
      ports: c.Ports.map((p) => `${p.IP}:${p.PublicPort}`),
    }));
    const dir = platform.env.PIER_ROUTER_STATE_DIR!;
    const servers = await haproxyCommand(join(dir, 'haproxy.sock'), 'show servers state').catch(String);
    // What the agents logged about each instance that is not ready: why it never got there.
    const unready = Array.isArray(live) ? live.filter((i) => i.state !== 'ready').map((i) => i.id) : [];
    const agentLines = [...platform.processes.values()]
      .filter((p) => p.kind === 'agent')
      .flatMap((p) =>
        p
          .output()
          .split('\n')
          .filter((line) => unready.some((id) => line.includes(id)))
          .slice(-20)
          .map((line) => `${p.file}: ${line.slice(0, 600)}`),
      );
    return [
      `instances: ${JSON.stringify(live)}`,
      `containers: ${JSON.stringify(containers)}`,
      `haproxy servers state:\n${servers}`,
      `agents on the instances not ready:\n${agentLines.join('\n')}`,
    ].join('\n');
  }

  /** Loads still running: a trial that failed half-way leaves its load to `afterEach`. */
  const loads: { stop(): Promise<unknown> }[] = [];
  afterEach(async () => {
    await Promise.all(loads.splice(0).map((l) => l.stop()));
  });

  /** Requests through the router, WORKERS at a time, until stopped; every non-200 answer counts. */
  function steadyLoad() {
    let running = true;
    let sent = 0;
    const failed: string[] = [];
    const worker = async () => {
      while (running) {
        const r = await viaRouter(platform.routerHttpPort, `web.${space}.pier.localhost`);
        sent++;
        if (r.status !== 200) failed.push(`${new Date().toISOString()} ${r.status} ${r.body.slice(0, 80)}`);
        if (r.status === 0) await new Promise((done) => setTimeout(done, 20));
      }
    };
    const workers = Array.from({ length: WORKERS }, worker);
    return {
      async stop() {
        running = false;
        await Promise.all(workers);
        return { sent, failed };
      },
    };
  }

  beforeAll(async () => {
    process.stdout.write(`fault suite: seed ${SEED} (PIER_FAULTS_SEED), ${TRIALS} trial(s) per fault\n`);
    // up.sh creates the cluster `default` and joins the first agent to it; the second joins with agent.sh.
    await platform.start();
    expect((await call('POST', '/spaces', { name: space })).status).toBe(201);
    expect((await call('POST', `/spaces/${space}/apps`, { name: 'web', cluster: 'default' })).status).toBe(
      201,
    );
    expect((await call('POST', `${base}/versions`, web)).status).toBe(201);
    expect((await call('POST', `${base}/versions/1/deploy`, { instances: target })).status).toBe(202);
    await expectEventually(
      async () => expect(await settledProblems(platform, await instances(), target)).toEqual([]),
      {
        timeoutMs: 90_000,
        what: 'the first deploy settled',
      },
    );
  });

  afterAll(async () => {
    if (results.length) process.stdout.write(`\n${formatFaultTable(results, SEED)}\n`);
    if (process.env.PIER_FAULTS_REPORT)
      writeFileSync(
        process.env.PIER_FAULTS_REPORT,
        `${JSON.stringify({ seed: SEED, trials: TRIALS, results }, null, 2)}\n`,
      );
    await platform.stop();
    await removePlatformDocker(platform);
  });

  /** Injects the fault; resolves with when it struck and, for a killed process, the name to wait for. */
  async function inject(fault: FaultName, trial: number): Promise<{ at: number; restarted?: string }> {
    if (fault.startsWith('kill-')) {
      const service = fault.slice('kill-'.length) as ServiceName | 'agent';
      const name = service === 'agent' ? `agent-${platform.agentNames[trial % 2]}` : service;
      const at = Date.now();
      await platform.process(name).crash();
      return { at, restarted: name };
    }
    switch (fault) {
      case 'node-lost': {
        // Its supervisor first, so nothing starts it again: the node is gone until the trial brings it back.
        const name = `agent-${platform.agentNames[trial % 2]}`;
        const at = Date.now();
        await platform.process(name).killForGood();
        return { at, restarted: name };
      }
      case 'restart-nats':
      case 'restart-postgres': {
        const server = fault === 'restart-nats' ? platform.nats : platform.postgres;
        const at = Date.now();
        await server.stop();
        await new Promise((r) => setTimeout(r, 500 + random() * 2000));
        await server.start();
        return { at };
      }
      case 'down-up': {
        const at = Date.now();
        await platform.downAndUp();
        return { at };
      }
      case 'restart-dockerd': {
        const at = Date.now();
        await restartDockerd();
        return { at };
      }
      default:
        throw new Error(`unknown fault ${fault}`);
    }
  }

  for (const fault of SELECTED) {
    it(`${fault.name}: the deploy settles exactly, the stream and the read models stay true`, async () => {
      if (!healthy) await restore();
      for (let trial = 0; trial < TRIALS; trial++) {
        healthy = false;
        target = target === 2 ? 3 : 2;
        const delayMs = Math.round(random() * 1500);
        // Each fault's first trial strikes a rollout (new instances and stops: the most to go wrong; CI
        // runs one trial per fault), then scales and rollouts alternate.
        const action = trial % 2 === 0 ? 'rollout' : 'scale';
        process.stdout.write(
          `${fault.name} trial ${trial + 1}: ${action === 'scale' ? `scale version ${current}` : 'roll out a new version'}` +
            ` to ${target} instances, fault after ${delayMs} ms\n`,
        );
        const load = steadyLoad();
        loads.push(load);
        const acting = action === 'scale' ? scale(target) : rollout(target);
        await new Promise((r) => setTimeout(r, delayMs));
        const { at, restarted } = await inject(fault.name, trial);
        let readyMs: number | null = null;
        if (restarted && fault.name === 'node-lost') {
          // A dead node: time until every instance runs (ready, serving) on the other node, then it returns.
          const dead = await nodeId(restarted.slice('agent-'.length));
          try {
            await expectEventually(
              async () => {
                const live = await instances();
                expect(live.filter((i) => i.state === 'ready' && i.nodeId !== dead)).toHaveLength(target);
                expect(live.filter((i) => i.nodeId === dead)).toEqual([]);
                expect(await responders()).toHaveLength(target);
              },
              { timeoutMs: RECOVERY_TIMEOUT_MS, intervalMs: 250, what: 'replacements serving' },
            );
            readyMs = Date.now() - at;
          } finally {
            await platform.process(restarted).start();
            await platform.waitReady([restarted]);
          }
        } else if (restarted) {
          await expectEventually(async () => expect(await platform.isReady(restarted)).toBe(true), {
            timeoutMs: RECOVERY_TIMEOUT_MS,
            intervalMs: 100,
            what: `${restarted} ready again`,
          });
          readyMs = Date.now() - at;
        }
        await acting;
        await settled(`settled after ${fault.name}`);
        const recoverMs = Date.now() - at;
        loads.splice(loads.indexOf(load), 1);
        const { sent, failed } = await load.stop();
        results.push({
          fault: fault.name,
          trial: trial + 1,
          action,
          delayMs,
          recoverMs,
          readyMs,
          sent,
          failed: failed.length,
        });
        process.stdout.write(
          `${fault.name} trial ${trial + 1}: recovered in ${recoverMs} ms` +
            `${readyMs === null ? '' : ` (process ready / replacements serving after ${readyMs} ms)`}, ` +
            `${failed.length} of ${sent} requests failed` +
            `${failed.length ? ` within ${outageMs(failed)} ms:\n  ${failed.slice(0, 10).join('\n  ')}` : ''}\n`,
        );

        const audit = await auditStream(platform);
        expect(audit.duplicateIds).toEqual({});
        expect(audit.duplicateReactions).toEqual([]);
        await expectEventually(
          async () => {
            // One line per service and table that differs, with the rows only one side has.
            expect(readModelDifferences(await rebuildReadModels(platform, `${trial}`))).toEqual([]);
          },
          {
            // Three replays at once, on a machine that also runs the platform.
            timeoutMs: 60_000,
            intervalMs: 1000,
            what: 'read models (clusters, auth, scheduler) rebuilt from the stream = live',
          },
        );
        expect(failed.length).toBeLessThanOrEqual(fault.maxFailed(WORKERS));
        const outageBound = maxOutageMs(fault);
        if (outageBound !== undefined) expect(outageMs(failed)).toBeLessThanOrEqual(outageBound);
        healthy = true;
      }
    });
  }
});

import { execFile } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectEventually } from '@pier/testing';

const DEPLOY = join(__dirname, '../../../deploy/local');
const MAIN = join(__dirname, '../dist/main.js');
const NODE_A = '11111111-1111-4111-8111-111111111111';
const NODE_B = '22222222-2222-4222-8222-222222222222';

/**
 * deploy/local's restart and leave paths (agent.sh, up.sh's `--rejoin-all`, down.sh), driving stand-ins:
 * `node` and `docker` on the PATH are scripts that record each call in a file (`node` then behaves like
 * the agent: runs until SIGTERM, or ends at once for `leave`); the services are stand-ins started with
 * lib.sh's `start_bg`, as up.sh starts the real ones.
 */
describe('deploy/local: stopping keeps the nodes, leaving is explicit', () => {
  let dir: string;
  let state: string;
  let calls: string;
  let env: NodeJS.ProcessEnv;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pier-deploy-'));
    state = join(dir, 'state');
    calls = join(dir, 'calls');
    const bin = join(dir, 'bin');
    for (const d of [bin, join(state, 'run'), join(state, 'logs'), join(state, 'agents')]) {
      mkdirSync(d, { recursive: true });
    }
    writeFileSync(calls, '');
    // No secrets: nothing here reaches a real service.
    writeFileSync(join(state, 'env'), 'PIER_PREFIX=t_deploy\nPIER_API_PORT=1\n', { mode: 0o600 });
    script(
      join(bin, 'node'),
      'echo "node $* name=${PIER_AGENT_NAME:-} token=${PIER_AGENT_JOIN_TOKEN:-}" >>"$CALLS"',
      '[[ ${2:-} == leave ]] && exit "${LEAVE_EXIT:-0}"',
      'trap \'echo "stopped agent-$PIER_AGENT_NAME" >>"$CALLS"; exit 0\' TERM',
      'while :; do sleep 0.1; done',
    );
    // `docker ps` lists the containers named in DOCKER_PS.
    script(
      join(bin, 'docker'),
      'echo "docker $*" >>"$CALLS"',
      '[[ $1 == ps && -n ${DOCKER_PS:-} ]] && printf "%s\\n" $DOCKER_PS',
      'exit 0',
    );
    script(
      join(bin, 'service'),
      'trap \'echo "stopped $1" >>"$CALLS"; exit 0\' TERM',
      'while :; do sleep 0.1; done',
    );
    env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, PIER_STATE_DIR: state, CALLS: calls };
    delete env.PIER_AGENT_JOIN_TOKEN;
  });

  afterEach(() => {
    // Whatever a failed test left running: every stand-in leads its own process group (start_bg).
    const run = join(state, 'run');
    for (const file of existsSync(run) ? readdirSync(run).filter((f) => f.endsWith('.pid')) : []) {
      try {
        process.kill(-Number(readFileSync(join(run, file), 'utf8').trim()), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  function script(path: string, ...lines: string[]) {
    writeFileSync(path, ['#!/usr/bin/env bash', ...lines, ''].join('\n'));
    chmodSync(path, 0o755);
  }

  function run(file: string, args: string[], extra: NodeJS.ProcessEnv = {}) {
    return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        'bash',
        [join(DEPLOY, file), ...args],
        { env: { ...env, ...extra }, timeout: 60_000 },
        (e, stdout, stderr) =>
          resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout, stderr }),
      );
    });
  }

  /** Starts a stand-in service NAME the way up.sh starts the real ones. */
  async function startService(name: string) {
    const started = await new Promise<string>((resolve) =>
      execFile(
        'bash',
        [
          '-c',
          'source "$1" && start_bg "$2" "$3" service "$2"',
          'start',
          join(DEPLOY, 'lib.sh'),
          name,
          join(state, 'logs', `${name}.log`),
        ],
        { env, timeout: 30_000 },
        (e, _out, stderr) => resolve(e ? stderr : ''),
      ),
    );
    expect(started).toBe('');
  }

  function joined(name: string, nodeId: string, clusterId?: string) {
    mkdirSync(join(state, 'agents', name), { recursive: true });
    writeFileSync(
      join(state, 'agents', name, 'identity.json'),
      JSON.stringify({ nodeId, credential: 'c'.repeat(43), ...(clusterId ? { clusterId } : {}) }),
    );
  }

  const recorded = () => readFileSync(calls, 'utf8').trim().split('\n').filter(Boolean);

  it('up.sh brings back the agents that have joined (no token, no API), each once', async () => {
    joined('local-1', NODE_A, 'cluster-1');
    joined('local-2', NODE_B); // never finished joining: needs a token, which only agent.sh NAME creates

    const first = await run('agent.sh', ['--rejoin-all']);
    expect(first).toMatchObject({ code: 0, stdout: 'local-1\n' });
    await expectEventually(() => expect(recorded()).toEqual([`node ${MAIN} name=local-1 token=`]), {
      timeoutMs: 15_000,
    });
    expect(existsSync(join(state, 'run', 'agent-local-2.pid'))).toBe(false);

    // Running already: not started twice.
    expect(await run('agent.sh', ['--rejoin-all'])).toMatchObject({ code: 0, stdout: '' });
    expect(recorded()).toEqual([`node ${MAIN} name=local-1 token=`]);
  });

  it('down.sh stops the control plane before the agents, and no agent leaves', async () => {
    joined('local-1', NODE_A, 'cluster-1');
    for (const name of ['clusters', 'scheduler', 'gateway']) await startService(name);
    expect((await run('agent.sh', ['--rejoin-all'])).stdout).toBe('local-1\n');
    await expectEventually(() => expect(recorded()).toHaveLength(1), { timeoutMs: 15_000 });

    const down = await run('down.sh', []);
    expect(down.code).toBe(0);
    const stops = recorded().filter((line) => line.startsWith('stopped '));
    expect(stops).toEqual([
      'stopped gateway',
      'stopped scheduler',
      'stopped clusters',
      'stopped agent-local-1',
    ]);
    expect(recorded().filter((line) => line.includes(' leave '))).toEqual([]);
    // The identity stays, so the next up.sh brings the same node back.
    expect(existsSync(join(state, 'agents', 'local-1', 'identity.json'))).toBe(true);
    expect(recorded().filter((line) => line.startsWith('docker '))).toEqual([]);
  });

  it('down.sh keeps a dockerd it started running while the nodes have containers on it', async () => {
    joined('local-1', NODE_A, 'cluster-1');
    for (const name of ['clusters', 'dockerd']) await startService(name);

    expect((await run('down.sh', [], { DOCKER_PS: 'c1 c2' })).code).toBe(0);
    expect(recorded()).toContain(`docker ps --all --quiet --filter label=pier.node=${NODE_A}`);
    expect(recorded().filter((line) => line.startsWith('stopped '))).toEqual(['stopped clusters']);
    expect(existsSync(join(state, 'run', 'dockerd.pid'))).toBe(true);

    // No container left on it: it stops.
    expect((await run('down.sh', [])).code).toBe(0);
    expect(recorded().filter((line) => line.startsWith('stopped '))).toEqual([
      'stopped clusters',
      'stopped dockerd',
    ]);
  });

  it('down.sh --purge removes the containers of the nodes whose identities it deletes', async () => {
    joined('local-1', NODE_A, 'cluster-1');
    expect((await run('agent.sh', ['--rejoin-all'])).stdout).toBe('local-1\n');
    await expectEventually(() => expect(recorded()).toHaveLength(1), { timeoutMs: 15_000 });

    expect((await run('down.sh', ['--purge'])).code).toBe(0);
    const docker = recorded().filter((line) => line.startsWith('docker '));
    expect(docker).toContain(`docker ps --all --quiet --filter label=pier.node=${NODE_A}`);
    expect(docker).toContain('docker network prune --force --filter label=pier.installation=t_deploy');
    expect(existsSync(state)).toBe(false);
  });

  it('down.sh --leave makes every node leave (then stops); a failed leave keeps the identity', async () => {
    joined('local-1', NODE_A, 'cluster-1');
    // --leave needs the control plane: it refuses to start without it.
    expect(await run('down.sh', ['--leave'])).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/needs the control plane running/),
    });
    for (const name of ['clusters', 'scheduler']) await startService(name);
    expect((await run('agent.sh', ['--rejoin-all'])).stdout).toBe('local-1\n');
    await expectEventually(() => expect(recorded()).toHaveLength(1), { timeoutMs: 15_000 });

    const failed = await run('agent.sh', ['--leave', 'local-1'], { LEAVE_EXIT: '1' });
    expect(failed).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/leaving failed \(exit code 1\)/),
    });
    expect(existsSync(join(state, 'agents', 'local-1', 'identity.json'))).toBe(true);

    const down = await run('down.sh', ['--leave']);
    expect(down.code).toBe(0);
    expect(recorded()).toEqual([
      `node ${MAIN} name=local-1 token=`,
      'stopped agent-local-1',
      `node ${MAIN} leave name=local-1 token=`,
      `node ${MAIN} leave name=local-1 token=`,
      'stopped scheduler',
      'stopped clusters',
    ]);
    expect(existsSync(join(state, 'agents', 'local-1'))).toBe(false);
  });
});

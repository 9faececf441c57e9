/**
 * bench:faults — the fault-injection suite (e2e/src/faults) with more trials per fault: for each fault,
 * the time from the fault to the deploy settled again (p50 and max over the trials) and the requests
 * through the router that failed; over the faults, the time from a dead node to its replacements serving
 * and from a killed service to its `/readyz` answering again. No baseline: these are recovery times.
 *
 *   npm run bench:faults -- [--quick] [--trials=N] [--only=kill-router,restart-nats] [--seed=S]
 *
 * Runs the suite's Jest configuration with PIER_FAULTS_TRIALS / _ONLY / _SEED and reads its report. It
 * restarts NATS and Postgres of its own, and (fault restart-dockerd) this machine's Docker engine: run it
 * on a machine nobody else is using Docker on, or pass --only without restart-dockerd.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from './lib/args';
import { type Figure, progress, runBench } from './lib/report';
import { percentile } from './lib/stats';

interface TrialResult {
  fault: string;
  trial: number;
  delayMs: number;
  recoverMs: number;
  readyMs: number | null;
  sent: number;
  failed: number;
}

const ROOT = join(__dirname, '..', '..');

function runSuite(env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'),
        '-c',
        join(ROOT, 'e2e', 'jest.faults.config.cjs'),
        '--runInBand',
        '--forceExit',
      ],
      { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] },
    );
    child.once('error', reject);
    child.once('exit', (code) => resolve(code ?? 1));
  });
}

/** p50 and max figures of one sample, in ms; none for an empty sample. */
function spread(name: string, values: number[]): Figure[] {
  if (values.length === 0) return [];
  const sorted = [...values].sort((a, b) => a - b);
  return [
    { name: `${name} p50`, value: percentile(sorted, 50), unit: 'ms' },
    { name: `${name} max`, value: sorted[sorted.length - 1]!, unit: 'ms' },
  ];
}

runBench(
  'faults',
  () =>
    parseArgs(process.argv.slice(2), {
      quick: { trials: 1, only: '', seed: '' },
      default: { trials: 5, only: '', seed: '' },
    }),
  async ({ trials, only, seed }) => {
    const dir = mkdtempSync(join(tmpdir(), 'pier-bench-faults-'));
    const report = join(dir, 'report.json');
    try {
      progress(`fault suite: ${trials} trial(s) per fault${only ? `, only ${only}` : ''}`);
      const code = await runSuite({
        PIER_FAULTS_TRIALS: String(trials),
        PIER_FAULTS_REPORT: report,
        ...(only ? { PIER_FAULTS_ONLY: String(only) } : {}),
        ...(seed ? { PIER_FAULTS_SEED: String(seed) } : {}),
      });
      if (code !== 0) throw new Error(`the fault suite failed (exit ${code}); see its output above`);
      const stored = JSON.parse(readFileSync(report, 'utf8')) as { seed: number; results: TrialResult[] };
      const results = stored.results;
      const faults = [...new Set(results.map((r) => r.fault))];
      const figures: Figure[] = [];
      for (const fault of faults) {
        const of = results.filter((r) => r.fault === fault);
        figures.push(
          ...spread(
            `${fault}: time to recover (${of.length} trials)`,
            of.map((r) => r.recoverMs),
          ),
          {
            name: `${fault}: requests failed`,
            value: of.reduce((a, r) => a + r.failed, 0),
            unit: `of ${of.reduce((a, r) => a + r.sent, 0)}`,
          },
        );
      }
      figures.push(
        ...spread(
          'dead node → replacements serving',
          results.filter((r) => r.fault === 'node-lost' && r.readyMs !== null).map((r) => r.readyMs!),
        ),
        ...spread(
          'killed service → ready',
          results.filter((r) => r.fault.startsWith('kill-') && r.readyMs !== null).map((r) => r.readyMs!),
        ),
      );
      return { figures, details: { seed: stored.seed, trials: results } };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

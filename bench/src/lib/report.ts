import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { join } from 'node:path';
import { type Size, UsageError } from './args';
import { ratio, round } from './stats';

/** One headline figure: a value, and where there is one, the baseline it is compared with. */
export interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** What the baseline is (e.g. "docker run"), with its value in the same unit. */
  readonly baseline?: { readonly name: string; readonly value: number };
  /** value ÷ baseline; set by the benchmark when it compares. */
  readonly ratio?: number;
}

/** A figure compared with a baseline in the same unit: `value ÷ base` as its ratio. */
export function compared(name: string, unit: string, value: number, baseline: string, base: number): Figure {
  return { name, value, unit, baseline: { name: baseline, value: base }, ratio: ratio(value, base) };
}

export interface BenchResult {
  readonly figures: Figure[];
  /** Everything else measured: samples' summaries, counts, settings found. */
  readonly details?: Record<string, unknown>;
}

export const RESULTS_DIR = join(__dirname, '..', '..', 'results');

export function machine(): Record<string, unknown> {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
  };
}

function cell(value: number | undefined): string {
  if (value === undefined) return '';
  return Number.isFinite(value) ? String(round(value)) : 'n/a';
}

/** The summary table printed at the end of every benchmark. */
export function formatTable(figures: readonly Figure[]): string {
  const rows = [
    ['figure', 'value', 'unit', 'baseline', 'baseline value', 'ratio'],
    ...figures.map((f) => [
      f.name,
      cell(f.value),
      f.unit,
      f.baseline?.name ?? '',
      cell(f.baseline?.value),
      cell(f.ratio),
    ]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) =>
    r.map((v, c) => (c === 1 || c >= 4 ? v.padStart(widths[c]!) : v.padEnd(widths[c]!))).join('  ');
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/** Progress on stderr, so stdout holds only the table. */
export function progress(message: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/**
 * Runs one benchmark: prints its table, writes `bench/results/<name>-<time>.json` and
 * `<name>-latest.json`. Exits 2 when the benchmark could not measure (a platform that is not running, a
 * tool that is missing, a failure during the run), 64 on bad options, 0 otherwise — a slow figure is
 * still a measurement.
 */
export function runBench<P extends Record<string, number | string>>(
  name: string,
  setup: () => { size: Size; params: P },
  body: (params: P, size: Size) => Promise<BenchResult>,
): void {
  let parsed: { size: Size; params: P };
  try {
    parsed = setup();
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`bench:${name}: ${error.message}\n`);
      process.exit(64);
    }
    throw error;
  }
  const startedAt = new Date();
  progress(`bench:${name} (${parsed.size}) ${JSON.stringify(parsed.params)}`);
  body(parsed.params, parsed.size)
    .then((result) => {
      const finishedAt = new Date();
      const record = {
        bench: name,
        size: parsed.size,
        params: parsed.params,
        startedAt: startedAt.toISOString(),
        durationSeconds: Math.round((finishedAt.getTime() - startedAt.getTime()) / 100) / 10,
        machine: machine(),
        figures: result.figures.map((f) => ({ ...f, value: round(f.value) })),
        details: result.details ?? {},
      };
      mkdirSync(RESULTS_DIR, { recursive: true });
      const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
      const text = `${JSON.stringify(record, null, 2)}\n`;
      writeFileSync(join(RESULTS_DIR, `${name}-${stamp}.json`), text);
      writeFileSync(join(RESULTS_DIR, `${name}-latest.json`), text);
      process.stdout.write(
        `\nbench:${name} (${parsed.size}, ${record.durationSeconds} s)\n${formatTable(result.figures)}\n`,
      );
      process.stdout.write(`\nresults: ${join(RESULTS_DIR, `${name}-latest.json`)}\n`);
      process.exit(0);
    })
    .catch((error: unknown) => {
      process.stderr.write(
        `bench:${name}: could not measure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(2);
    });
}

/**
 * Prints the latest result of every benchmark (`bench/results/<name>-latest.json`) as one Markdown
 * table: what README's Performance section shows. `npm run bench:summary`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Figure, RESULTS_DIR } from './lib/report';
import { type PhaseReport, rolloutTable, verdictLines } from './lib/rollout-phases';
import { round } from './lib/stats';

const BENCHES = ['scheduler', 'deploy', 'router', 'api', 'rollout', 'footprint', 'faults'];

interface Stored {
  bench: string;
  size: string;
  startedAt: string;
  durationSeconds: number;
  machine: { cpus: number; cpuModel: string };
  figures: Figure[];
  details?: { phases?: PhaseReport[] };
}

const show = (value: number | undefined) =>
  value === undefined ? '' : Number.isFinite(value) ? String(round(value)) : 'n/a';

const lines: string[] = [];
for (const bench of BENCHES) {
  const file = join(RESULTS_DIR, `${bench}-latest.json`);
  if (!existsSync(file)) {
    lines.push(`\n_bench:${bench}: no result yet (npm run bench:${bench})_`);
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8')) as Stored;
  lines.push(
    '',
    `**\`npm run bench:${bench}${r.size === 'quick' ? ' -- --quick' : ''}\`** — ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC, ` +
      `${r.durationSeconds} s, ${r.machine.cpus} × ${r.machine.cpuModel.trim()}`,
    '',
    '| figure | value | baseline | baseline value | ratio |',
    '| --- | ---: | --- | ---: | ---: |',
    ...r.figures.map(
      (f) =>
        `| ${f.name} | ${show(f.value)} ${f.unit} | ${f.baseline?.name ?? ''} | ${f.baseline ? `${show(f.baseline.value)} ${f.unit}` : ''} | ${show(f.ratio)} |`,
    ),
  );
  // bench:rollout also keeps every phase of every run: failures by cause next to their latency.
  if (bench === 'rollout' && r.details?.phases?.length) {
    lines.push(
      '',
      ...rolloutTable(r.details.phases),
      '',
      ...verdictLines(r.details.phases).map((v) => `- ${v}`),
    );
  }
}
process.stdout.write(`${lines.join('\n').trim()}\n`);

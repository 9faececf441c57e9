import { existsSync } from 'node:fs';
import { queryDatabase } from './infrastructure';
import { startNodeProcess } from './processes';

/** Each table of a schema: its rows as JSON text, sorted. */
export type SchemaTables = Record<string, string[]>;

/**
 * The tables of `schema` (without the migrations' bookkeeping and the tables in `skip`), row for row.
 * Of `projection_checkpoints` only the names count: positions and times are each replay's own, the
 * names say which projections built the schema.
 */
export async function schemaTables(
  url: string,
  schema: string,
  skip: readonly string[] = [],
): Promise<SchemaTables> {
  const tables = await queryDatabase<{ table_name: string }>(
    url,
    `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'
       AND table_name <> ALL($2) ORDER BY table_name`,
    [schema, ['migrations', 'typeorm_metadata', ...skip]],
  );
  const result: SchemaTables = {};
  for (const { table_name: table } of tables) {
    const columns = table === 'projection_checkpoints' ? 'name' : '*';
    const rows = await queryDatabase<{ row: string }>(
      url,
      `SELECT row_to_json(t)::text AS row FROM (SELECT ${columns} FROM "${schema}"."${table}") t`,
    );
    result[table] = rows.map((r) => r.row).sort();
  }
  return result;
}

/** One line per table whose rows differ, naming the rows only one side has; empty when equal. */
export function tableDifferences(live: SchemaTables, rebuilt: SchemaTables): string[] {
  const differences: string[] = [];
  for (const table of [...new Set([...Object.keys(live), ...Object.keys(rebuilt)])].sort()) {
    const count = new Map<string, number>();
    for (const row of live[table] ?? []) count.set(row, (count.get(row) ?? 0) + 1);
    for (const row of rebuilt[table] ?? []) count.set(row, (count.get(row) ?? 0) - 1);
    const onlyLive = [...count].filter(([, n]) => n > 0).map(([row]) => row);
    const onlyRebuilt = [...count].filter(([, n]) => n < 0).map(([row]) => row);
    const missing =
      table in live && table in rebuilt ? '' : ` (no such table ${table in live ? 'rebuilt' : 'live'})`;
    if (missing || onlyLive.length || onlyRebuilt.length) {
      differences.push(
        `${table}${missing}: only live [${onlyLive.join(' | ')}], only rebuilt [${onlyRebuilt.join(' | ')}]`,
      );
    }
  }
  return differences;
}

/**
 * Runs the built `main.js rebuild-projections` with `env` added to this process's environment, and
 * fails with its output unless it exits 0 within a minute (a `main.js` built before the command existed
 * starts the service instead, and is killed then).
 */
export async function runRebuild(script: string, env: Record<string, string>): Promise<void> {
  if (!existsSync(script)) throw new Error(`${script} does not exist: build the service first`);
  const rebuild = startNodeProcess('rebuild-projections', script, env, ['rebuild-projections']);
  const deadline = setTimeout(() => void rebuild.stop('SIGKILL'), 60_000);
  const exit = await rebuild.exited;
  clearTimeout(deadline);
  if (exit !== 0) throw new Error(`rebuild-projections exited with ${exit}:\n${rebuild.output()}`);
}

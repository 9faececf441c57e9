import { join } from 'node:path';
import { type RunningProcess, startNodeProcess } from '@pier/testing';

/**
 * Starts `test/<file>` (TypeScript) as a Node process of its own, on the sources (see swc-register.cjs).
 * Workers print `READY` once set up, and exit 70 after printing `CRASH` when an error escapes them.
 */
export function startWorker(file: string, env: Record<string, string> = {}): RunningProcess {
  const register = join(__dirname, 'swc-register.cjs');
  return startNodeProcess(file, join(__dirname, file), {
    ...env,
    NODE_OPTIONS: `--require ${register} --conditions=@pier/source`,
  });
}

/** Makes the current process report any error that escapes and exit 70, like the agent's main does. */
export function exitOnEscapedErrors(): void {
  const crash = (kind: string) => (error: unknown) => {
    process.stderr.write(`CRASH ${kind}: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(70);
  };
  process.on('uncaughtException', crash('uncaught exception'));
  process.on('unhandledRejection', crash('unhandled rejection'));
}

/** Resolves once the worker printed `text`; fails with its output if it exits first or `timeoutMs` passes. */
export function waitForOutput(worker: RunningProcess, text: string, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const { child } = worker;
    const fail = (why: string) => {
      done();
      reject(new Error(`${worker.name} ${why} before printing "${text}":\n${worker.output()}`));
    };
    const onData = () => {
      if (!worker.output().includes(text)) return;
      done();
      resolve();
    };
    const onExit = (code: number | null, signal: string | null) => fail(`exited (${code ?? signal})`);
    const timer = setTimeout(() => fail(`printed nothing like it for ${timeoutMs} ms`), timeoutMs);
    const done = () => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
    if (child.exitCode !== null || child.signalCode !== null)
      fail(`had exited (${child.exitCode ?? child.signalCode})`);
    else onData();
  });
}

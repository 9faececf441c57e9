import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from './local-platform';

/** A bare Fastify server answering `GET /hello` with a small JSON body, in a Node process of its own. */
export interface BareHttp {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

const SERVER = `
const app = require('fastify')({ logger: false });
app.get('/hello', async () => ({ ok: true }));
app.listen({ port: 0, host: '127.0.0.1' }).then(() => console.log(app.server.address().port));
`;

/**
 * The machine's floor for answering an HTTP call from Node, measured beside the platform: what a process
 * that does nothing else costs per call at a given rate. On a virtual machine where waking an idle
 * process is expensive, that floor is far above the framework's own cost, and it falls as the rate grows
 * (wake-ups are shared by more calls).
 */
export async function startBareHttp(): Promise<BareHttp> {
  const child = spawn(process.execPath, ['-e', SERVER], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const [line] = (await Promise.race([
    once(lines, 'line'),
    once(child, 'exit').then(() => {
      throw new Error('the bare Fastify server exited before listening');
    }),
  ])) as [string];
  return {
    url: `http://127.0.0.1:${Number(line)}`,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

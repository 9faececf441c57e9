import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from './local-platform';

/** A free TCP port on 127.0.0.1 (the kernel's choice; free when asked, almost surely still free right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * nginx as a tuned reverse proxy, the comparison for Pier's router: upstream keep-alive (a pool per
 * worker, HTTP/1.1, the `Connection` header cleared), round robin over the same host ports HAProxy uses,
 * the same `X-Forwarded-*` headers HAProxy adds, no access log (HAProxy logs notices only), client
 * keep-alive without a request limit (HAProxy has none either; nginx's default of 1000 would make wrk
 * reconnect).
 */
export function nginxProxyConfig(
  dir: string,
  port: number,
  workers: number,
  upstreams: readonly number[],
): string {
  return `daemon off;
master_process on;
worker_processes ${workers};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;

events {
  worker_connections 4096;
}

http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 120s;

  upstream backends {
${upstreams.map((p) => `    server 127.0.0.1:${p};`).join('\n')}
    keepalive 256;
    keepalive_requests 10000000;
    keepalive_timeout 120s;
  }

  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backends;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-Port $server_port;
    }
  }
}
`;
}

/** A running nginx of ours: its port, master pid and how to stop it. */
export interface NginxProxy {
  readonly port: number;
  readonly master: number;
  /** The configuration it runs with. */
  readonly config: string;
  stop(): Promise<void>;
}

/** Starts nginx in a temporary directory (config, pid, logs), pinned with taskset to `cpus` when given. */
export async function startNginxProxy(options: {
  workers: number;
  upstreams: readonly number[];
  cpus?: string;
}): Promise<NginxProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'pier-bench-nginx-'));
  const port = await freePort();
  const configFile = join(dir, 'nginx.conf');
  const config = nginxProxyConfig(dir, port, options.workers, options.upstreams);
  writeFileSync(configFile, config);
  const nginx = ['/usr/sbin/nginx', '-p', dir, '-c', configFile, '-e', join(dir, 'error.log')];
  const [command, ...args] = options.cpus ? ['taskset', '-c', options.cpus, ...nginx] : nginx;
  const child: ChildProcess = spawn(command!, args, { stdio: 'ignore' });
  let exited = false;
  child.once('exit', () => (exited = true));
  const deadline = Date.now() + 10_000;
  while (!(await connects(port))) {
    if (exited || Date.now() > deadline) {
      let log = '';
      try {
        log = readFileSync(join(dir, 'error.log'), 'utf8');
      } catch {
        // none
      }
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`nginx did not start on 127.0.0.1:${port}: ${log}`);
    }
    await sleep(50);
  }
  return {
    port,
    master: child.pid!,
    config,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const until = Date.now() + 5000;
        while (!exited && Date.now() < until) await sleep(50);
        if (!exited) child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from './local-platform';

/** The files of the image in the checkout (start script and nginx configuration template). */
const SOURCES = join(REPO_ROOT, 'bench', 'images', 'backend');
const REPOSITORY = 'pier/bench-backend';
const NGINX = '/usr/sbin/nginx';
const BUSYBOX = '/bin/busybox';
/** Busybox applets start.sh uses. */
const APPLETS = ['sh', 'hostname', 'mkdir', 'head', 'tr', 'printf', 'sed', 'cat', 'ls'];

function docker(args: string[], input?: Buffer): string {
  return execFileSync('docker', args, {
    input,
    maxBuffer: 1 << 30,
    env: { ...process.env, DOCKER_HOST: '' },
  }).toString();
}

/** The host's shared libraries `binary` loads, resolved to real files, with the path each is found at. */
function sharedLibraries(binary: string): string[] {
  const out = execFileSync('ldd', [binary]).toString();
  const paths = new Set<string>();
  for (const line of out.split('\n')) {
    const match = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (match) paths.add(match[1]!);
  }
  return [...paths].sort();
}

/**
 * The backend image of bench:router: the host's nginx (Debian's nginx-light, with its shared libraries)
 * and a static busybox for the start script, imported with `docker import` (nothing can be pulled here).
 * A C server with keep-alive, so that the proxies in front of it — not the backend — are what is
 * measured. Returns the image name; its tag is a hash of every input, so the build is skipped when an
 * image of the same inputs exists and redone when nginx, busybox, a library or a source file changed.
 */
export function ensureBackendImage(): string {
  const libraries = sharedLibraries(NGINX);
  const inputs = [NGINX, BUSYBOX, ...libraries, join(SOURCES, 'start.sh'), join(SOURCES, 'nginx.conf')];
  const hash = createHash('sha256');
  for (const file of inputs) hash.update(file).update('\0').update(readFileSync(file)).update('\0');
  hash.update(APPLETS.join(','));
  const image = `${REPOSITORY}:${hash.digest('hex').slice(0, 16)}`;
  try {
    docker(['image', 'inspect', image]);
    return image;
  } catch {
    // not built yet
  }
  const root = mkdtempSync(join(tmpdir(), 'pier-bench-backend-'));
  try {
    const put = (source: string, target: string, mode = 0o755) => {
      mkdirSync(dirname(join(root, target)), { recursive: true });
      copyFileSync(realpathSync(source), join(root, target));
      chmodSync(join(root, target), mode);
    };
    put(NGINX, NGINX);
    for (const library of libraries) put(library, library);
    put(BUSYBOX, '/bin/busybox');
    for (const applet of APPLETS) symlinkSync('busybox', join(root, 'bin', applet));
    put(join(SOURCES, 'start.sh'), '/start.sh');
    put(join(SOURCES, 'nginx.conf'), '/etc/bench/nginx.conf', 0o644);
    mkdirSync(join(root, 'tmp'), { mode: 0o1777 });
    chmodSync(join(root, 'tmp'), 0o1777);
    writeFileSync(
      join(root, 'etc', 'passwd'),
      'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
    );
    writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
    const tar = execFileSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', root, '-c', '.'], {
      maxBuffer: 1 << 30,
    });
    docker(['import', '-c', 'ENV PATH=/bin:/usr/sbin', '-c', 'CMD ["/start.sh"]', '-', image], tar);
    // Older builds of this image are of no use any more.
    for (const old of docker(['image', 'ls', REPOSITORY, '--format', '{{.Repository}}:{{.Tag}}']).split(
      '\n',
    )) {
      if (old && old !== image) {
        try {
          docker(['image', 'rm', old]);
        } catch {
          // still used by a container: left for later
        }
      }
    }
    return image;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

import { type ApiClient, waitFor } from './local-platform';

/** The space every benchmark app lives in; bench:router's apps are named `router-*`. */
export const SPACE = 'bench';

export interface InstanceView {
  readonly id: string;
  readonly version: number;
  readonly state: string;
  readonly host: string | null;
  readonly hostPorts: readonly { containerPort: number; protocol: string; hostPort: number }[];
}

const appPath = (app: string) => `/spaces/${SPACE}/apps/${app}`;

export async function ensureSpace(api: ApiClient): Promise<void> {
  await api.must('POST', '/spaces', { name: SPACE }, [200, 201, 409]);
  // New spaces get the platform's default quota; a benchmark measures the platform, not its limits.
  await api.must('PUT', `/spaces/${SPACE}/quota`, {
    maxApps: null,
    maxInstances: null,
    maxCpuMillicores: null,
    maxMemoryMiB: null,
  });
}

/** Deletes an app (its instances stop) and waits until it is gone; nothing to do when it does not exist. */
export async function removeApp(api: ApiClient, app: string, timeoutMs = 60_000): Promise<void> {
  const reply = await api.call('DELETE', appPath(app));
  if (reply.status === 404) return;
  await waitFor(
    `app ${app} deleted`,
    timeoutMs,
    async () => ((await api.call('GET', appPath(app))).status === 404 ? true : undefined),
    250,
  );
}

/** Every `router-*` app of the bench space: left over by a run that was killed. */
export async function leftoverApps(api: ApiClient): Promise<string[]> {
  const reply = await api.call<{ items?: { name: string }[] }>('GET', `/spaces/${SPACE}/apps`);
  if (reply.status !== 200) return [];
  return (reply.body.items ?? []).map((a) => a.name).filter((n) => n.startsWith('router-'));
}

/** A version of the backend image: nginx answering 1 KiB on port 8080, naming itself and `label`. */
export function backendVersion(image: string, label: string, cpuMillicores: number): Record<string, unknown> {
  return {
    image,
    command: ['/start.sh', label, '8080'],
    ports: [{ containerPort: 8080, protocol: 'http' }],
    resources: { cpu: cpuMillicores, memory: 32 },
    probes: { readiness: { http: { path: '/', port: 8080 }, periodSeconds: 1 } },
    stop: { gracePeriodSeconds: 2 },
  };
}

/** Creates an app with one version per label, each deployed with `instances`; returns its Host. */
export async function createApp(
  api: ApiClient,
  app: string,
  baseDomain: string,
  versions: readonly { image: string; label: string; cpu: number; instances: number }[],
): Promise<string> {
  await api.must('POST', `/spaces/${SPACE}/apps`, { name: app, cluster: 'default' });
  for (const [i, v] of versions.entries()) {
    await api.must('POST', `${appPath(app)}/versions`, backendVersion(v.image, v.label, v.cpu));
    await api.must('POST', `${appPath(app)}/versions/${i + 1}/deploy`, { instances: v.instances });
  }
  return `${app}.${SPACE}.${baseDomain}`;
}

export async function instancesOf(api: ApiClient, app: string): Promise<InstanceView[]> {
  return (await api.must<{ items: InstanceView[] }>('GET', `${appPath(app)}/instances`)).items;
}

/** Waits until `version` has exactly `count` instances, all ready; returns them. */
export function waitReady(
  api: ApiClient,
  app: string,
  version: number,
  count: number,
  timeoutMs = 90_000,
): Promise<InstanceView[]> {
  return waitFor(
    `${count} ready instance(s) of ${app} v${version}`,
    timeoutMs,
    async () => {
      const mine = (await instancesOf(api, app)).filter((i) => i.version === version);
      return mine.length === count && mine.every((i) => i.state === 'ready') ? mine : undefined;
    },
    100,
  );
}

export async function scale(api: ApiClient, app: string, version: number, instances: number): Promise<void> {
  await api.must('POST', `${appPath(app)}/versions/${version}/scale`, { instances });
}

export async function setTraffic(
  api: ApiClient,
  app: string,
  weights: Record<string, number>,
): Promise<void> {
  await api.must('PUT', `${appPath(app)}/traffic`, { weights });
}

/** The host port of an instance's HTTP port. */
export function hostPortOf(instance: InstanceView): number {
  const port = instance.hostPorts.find((p) => p.containerPort === 8080)?.hostPort;
  if (!port) throw new Error(`instance ${instance.id} has no host port for 8080`);
  return port;
}

import { type VersionSpec } from '@pier/contracts';
import { type CheckResult, type ContainerDriver, type NetworkProber, type PublishedPort } from '../ports';

/** One check, as a probe or the preStop hook declares it. */
export type CheckAction = NonNullable<VersionSpec['stop']['preStop']>;

/** The running container a check is aimed at. */
export interface CheckTarget {
  readonly containerId: string;
  readonly specPorts: VersionSpec['ports'];
  readonly published: readonly PublishedPort[];
}

/**
 * How long past its own timeout a check may take before it is given up: the engine's exec calls have no
 * timeout of their own, and a check that never ends would leave its probe in flight for good.
 */
const OVERDUE_MS = 5000;

/**
 * Runs probe and hook actions against one container: HTTP and TCP go to the node address its ports are
 * published on (never to a container IP, which other engines or networks may not route), exec runs
 * inside the container. A check always ends with a result, failed with a reason when the action cannot
 * run (a refused path or header, a command the engine rejects, an engine that does not answer).
 */
export class ContainerChecks {
  constructor(
    private readonly driver: Pick<ContainerDriver, 'exec'>,
    private readonly prober: NetworkProber,
    private readonly publishHost: string,
  ) {}

  async run(action: CheckAction, target: CheckTarget, timeoutMs: number): Promise<CheckResult> {
    let timer: NodeJS.Timeout | undefined;
    const overdue = new Promise<CheckResult>((resolve) => {
      timer = setTimeout(
        () => resolve({ ok: false, detail: `no result within ${timeoutMs + OVERDUE_MS} ms` }),
        timeoutMs + OVERDUE_MS,
      );
    });
    try {
      return await Promise.race([this.attempt(action, target, timeoutMs), overdue]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async attempt(action: CheckAction, target: CheckTarget, timeoutMs: number): Promise<CheckResult> {
    try {
      if ('exec' in action) return await this.exec(action.exec.command, target, timeoutMs);
      const port = 'http' in action ? action.http.port : action.tcp.port;
      const hostPort = this.hostPort(port, target);
      if (typeof hostPort === 'string') return { ok: false, detail: hostPort };
      if ('tcp' in action)
        return await this.prober.tcp({ host: this.publishHost, port: hostPort }, timeoutMs);
      const { path, headers } = action.http;
      return await this.prober.http(
        { host: this.publishHost, port: hostPort, path, ...(headers ? { headers } : {}) },
        timeoutMs,
      );
    } catch (error) {
      return { ok: false, detail: (error as Error)?.message ?? String(error) };
    }
  }

  /** The published port of a container port, or why there is none. */
  private hostPort(port: number, target: CheckTarget): number | string {
    const declared = target.specPorts.find((p) => p.containerPort === port && p.protocol !== 'udp');
    if (!declared) {
      return `port ${port} is not among the version's TCP/HTTP ports, so it is not published and cannot be checked`;
    }
    const published = target.published.find((p) => p.containerPort === port && p.protocol === 'tcp');
    return published
      ? published.hostPort
      : `port ${port} has no published host port (the container is not running?)`;
  }

  private async exec(
    command: readonly string[],
    target: CheckTarget,
    timeoutMs: number,
  ): Promise<CheckResult> {
    const shown = JSON.stringify(command);
    const result = await this.driver.exec(target.containerId, command, timeoutMs);
    if (result.exitCode === null)
      return { ok: false, detail: `exec ${shown}: no exit within ${timeoutMs} ms` };
    const output = result.output ? `: ${result.output.slice(0, 300)}` : '';
    return {
      ok: result.exitCode === 0,
      detail: `exec ${shown}: exit code ${result.exitCode}${result.exitCode === 0 ? '' : output}`,
    };
  }
}

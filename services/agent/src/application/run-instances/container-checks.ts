import { type VersionSpec } from '@pier/contracts';
import { type CheckResult, type ContainerDriver, type NetworkProber, type PublishedPort } from '../ports';

/** One check, as a probe or the preStop hook declares it. */
export type CheckAction = NonNullable<VersionSpec['stop']['preStop']>;

/** The running container a check is aimed at. */
export interface CheckTarget {
  readonly containerId: string;
  readonly specPorts: VersionSpec['ports'];
  readonly published: readonly PublishedPort[];
  /** The container's own addresses: where a refused published port is checked again (see `attempt`). */
  readonly addresses?: readonly string[];
}

/**
 * How long past its own timeout a check may take before it is given up: the engine's exec calls have no
 * timeout of their own, and a check that never ends would leave its probe in flight for good.
 */
const OVERDUE_MS = 5000;

/**
 * Runs probe and hook actions against one container: HTTP and TCP go to the node address its ports are
 * published on (what the routers use), exec runs inside the container. A check always ends with a
 * result, failed with a reason when the action cannot run (a refused path or header, a command the
 * engine rejects, an engine that does not answer). When the published port refuses the connection, the
 * container's own address is tried too (where this node routes it): if the container accepts there, the
 * engine has lost the port's mapping, and the result says so.
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
      const result =
        'tcp' in action
          ? await this.prober.tcp({ host: this.publishHost, port: hostPort }, timeoutMs)
          : await this.prober.http(
              {
                host: this.publishHost,
                port: hostPort,
                path: action.http.path,
                ...(action.http.headers ? { headers: action.http.headers } : {}),
              },
              timeoutMs,
            );
      return result.ok || !/ECONNREFUSED/.test(result.detail)
        ? result
        : await this.refusedPublished(result, port, target, timeoutMs);
    } catch (error) {
      return { ok: false, detail: (error as Error)?.message ?? String(error) };
    }
  }

  /**
   * A published port refused: whether the container accepts on its own address (the engine lost the
   * mapping: a new container gets one) or refuses there too (the app does not listen: nothing to repair).
   */
  private async refusedPublished(
    refused: CheckResult,
    port: number,
    target: CheckTarget,
    timeoutMs: number,
  ): Promise<CheckResult> {
    for (const host of target.addresses ?? []) {
      const direct = await this.prober.tcp({ host, port }, Math.min(timeoutMs, 1000));
      if (direct.ok) {
        return {
          ok: false,
          detail: `${refused.detail}; the container accepts on ${host}:${port}: the engine lost its port mapping`,
          portMappingLost: true,
        };
      }
    }
    return { ...refused, refused: true };
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

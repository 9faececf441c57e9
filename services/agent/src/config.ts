import { commonEnv, envBoolean, envInt, envPort, eventStoreEnv } from '@pier/config';
import { labelKeySchema, labelValueSchema, zoneSchema } from '@pier/contracts';
import { z } from 'zod';
import { DEFAULT_CONTAINER_LIMITS, type NodeContainerLimits } from './domain/container-hardening';

/** `key=value,key2=value2` → a label map, each key and value validated like API labels. */
const labelsFromEnv = z
  .string()
  .default('')
  .transform((text, ctx) => {
    const labels: Record<string, string> = {};
    for (const pair of text
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)) {
      const eq = pair.indexOf('=');
      const key = eq < 0 ? pair : pair.slice(0, eq);
      const value = eq < 0 ? '' : pair.slice(eq + 1);
      if (!labelKeySchema.safeParse(key).success || !labelValueSchema.safeParse(value).success) {
        ctx.addIssue({ code: 'custom', message: `"${pair}" is not a valid key=value label` });
        return z.NEVER;
      }
      labels[key] = value;
    }
    return labels;
  });

export const agentConfigSchema = z.object({
  ...commonEnv,
  ...eventStoreEnv,
  /** Join token from `POST /api/v1/clusters/{id}/join-tokens`; needed only for the first start. */
  PIER_AGENT_JOIN_TOKEN: z.string().min(1).optional(),
  /** Where the agent keeps its node identity (node id and credential, mode 600). */
  PIER_AGENT_STATE_DIR: z.string().min(1).default('/var/lib/pier/agent'),
  PIER_AGENT_NAME: z.string().min(1).max(100).optional(),
  PIER_AGENT_LABELS: labelsFromEnv,
  PIER_AGENT_ZONE: zoneSchema.default('default'),
  /** Capacity offered to the scheduler; defaults to what the engine reports. */
  PIER_AGENT_CPU_MILLICORES: z.coerce.number().int().positive().optional(),
  PIER_AGENT_MEMORY_MIB: z.coerce.number().int().positive().optional(),
  /** Port of /healthz and /metrics; unset = not served. */
  PIER_AGENT_METRICS_PORT: envPort(0).optional(),
  /** Time budget of one call to the control plane. */
  PIER_AGENT_RPC_TIMEOUT_MS: envInt(5000, 100, 120_000),
  /** Address reported for the instances' published ports (`InstanceStarted.host`); routers connect there. */
  PIER_AGENT_ADVERTISE_HOST: z.string().min(1).max(255).default('127.0.0.1'),
  /**
   * How long stopping an instance waits for the routers to drain it before going on, a router that is
   * restarting included (its HAProxy keeps sending the instance requests until it is back).
   */
  PIER_AGENT_DRAIN_TIMEOUT_MS: envInt(15_000, 0, 60_000),
  /**
   * A container that has never been ready and whose published port still refuses connections this long
   * after it started is restarted (Heroku's boot timeout): nothing listens there, or the engine lost the
   * port. 0 turns it off.
   */
  PIER_AGENT_BOOT_TIMEOUT_MS: envInt(60_000, 0, 3_600_000),
  /**
   * How long a space's network stays on the node once none of its containers is left: a redeploy or a
   * restart of a space's only app within it finds the network there instead of making it again (about
   * 200 ms of the engine's). The engine's address pools hold a few dozen bridge networks, so idle ones
   * do not stay for ever.
   */
  PIER_AGENT_NETWORK_IDLE_SECONDS: envInt(300, 0, 86_400),
  /**
   * Container stops and removals the engine runs at once (each keeps the others waiting 2 s at most):
   * tearing many down together saturates a small node's CPU and slows every app on it. 0: no limit.
   */
  PIER_AGENT_TEARDOWN_CONCURRENCY: envInt(1, 0, 64),
  /**
   * Whether stopping the agent (SIGTERM, SIGINT) also leaves the cluster: the node becomes `left`, its
   * instances are placed elsewhere and the agent exits once it has removed their containers. Off by
   * default: a stopped agent (an upgrade, a restart) keeps its node and its running containers, which the
   * next agent adopts. `main.js leave` leaves once, whatever this says.
   */
  PIER_AGENT_LEAVE_ON_STOP: envBoolean(false),
  /** How long leaving waits for the node's instances to be unassigned and their containers removed. */
  PIER_AGENT_LEAVE_TIMEOUT_MS: envInt(120_000, 1000, 3_600_000),
  /** Most processes and threads one container may have: a fork bomb stops there, not at the node's. */
  PIER_AGENT_PIDS_LIMIT: envInt(DEFAULT_CONTAINER_LIMITS.pidsLimit, 16, 4_194_304),
  /** Size at which a container's log file (json-file) is rotated: a number and k, m or g. */
  PIER_AGENT_LOG_MAX_SIZE: z
    .string()
    .regex(/^[1-9][0-9]{0,5}[kmg]$/, 'a size like 10m (a number, then k, m or g)')
    .default(DEFAULT_CONTAINER_LIMITS.logMaxSize),
  /** Log files kept per container, the current one included. */
  PIER_AGENT_LOG_MAX_FILES: envInt(DEFAULT_CONTAINER_LIMITS.logMaxFiles, 1, 100),
  /**
   * Value of the `pier.installation` label on this agent's containers and networks; unset = `PIER_PREFIX`
   * (see `installationOf`).
   */
  PIER_INSTALLATION: labelValueSchema.pipe(z.string().min(1)).optional(),
  DOCKER_HOST: z.string().optional(),
  /**
   * Socket of the engine's containerd, where the agent removes a task the engine lost (a container start
   * cut by an engine restart, see `LostStarts`) with containerd's client `ctr`. Unset: dockerd's own
   * containerd, else the machine's, when the engine is local; `off`: never.
   */
  PIER_AGENT_CONTAINERD_SOCKET: z.string().min(1).optional(),
});

export type AgentConfig = z.output<typeof agentConfigSchema>;

/** The `pier.installation` label's value: `PIER_INSTALLATION`, else the event-stream prefix. */
export function installationOf(config: AgentConfig): string {
  return config.PIER_INSTALLATION ?? config.PIER_PREFIX;
}

/** The instance runtime's settings from the agent's configuration (the node id comes from the join). */
export function instanceRuntimeSettings(config: AgentConfig): {
  advertiseHost: string;
  drainTimeoutMs: number;
  bootTimeoutMs: number;
  networkIdleSeconds: number;
  containerLimits: NodeContainerLimits;
} {
  return {
    advertiseHost: config.PIER_AGENT_ADVERTISE_HOST,
    drainTimeoutMs: config.PIER_AGENT_DRAIN_TIMEOUT_MS,
    bootTimeoutMs: config.PIER_AGENT_BOOT_TIMEOUT_MS,
    networkIdleSeconds: config.PIER_AGENT_NETWORK_IDLE_SECONDS,
    containerLimits: containerLimits(config),
  };
}

/** The limits every container of this node runs with. */
export function containerLimits(config: AgentConfig): NodeContainerLimits {
  return {
    pidsLimit: config.PIER_AGENT_PIDS_LIMIT,
    logMaxSize: config.PIER_AGENT_LOG_MAX_SIZE,
    logMaxFiles: config.PIER_AGENT_LOG_MAX_FILES,
  };
}

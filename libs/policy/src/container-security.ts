import { z } from 'zod';

/** One filesystem mount of a container. Only `volume` and `tmpfs` are open to tenants; `bind` exposes the host. */
export const containerMountSchema = z
  .object({
    type: z.enum(['bind', 'volume', 'tmpfs']),
    /** Host path of a bind mount, name of a volume; absent for tmpfs. */
    source: z.string().min(1).optional(),
    target: z.string().min(1),
    readOnly: z.boolean().optional(),
  })
  .strict();
export type ContainerMount = z.infer<typeof containerMountSchema>;

/**
 * The security-relevant part of a container spec: every option that can weaken the isolation between a
 * container and its host (or other containers). Unknown keys are rejected so that an option nobody has
 * reviewed can never slip through to Docker.
 */
export const containerSecuritySchema = z
  .object({
    privileged: z.boolean().optional(),
    /** Docker network mode: `bridge` (default), `none`, a network name, `host` or `container:<id>`. */
    network: z.string().min(1).optional(),
    /** PID namespace mode, e.g. `host`. */
    pid: z.string().min(1).optional(),
    /** IPC namespace mode, e.g. `private`, `shareable` or `host`. */
    ipc: z.string().min(1).optional(),
    /** Linux capability names, with or without the `CAP_` prefix (`NET_ADMIN`, `CAP_SYS_ADMIN`, `ALL`). */
    capAdd: z.array(z.string().min(1)).optional(),
    /** Host devices to expose, e.g. `/dev/fuse`. */
    devices: z.array(z.string().min(1)).optional(),
    mounts: z.array(containerMountSchema).optional(),
    /** Docker security options, e.g. `no-new-privileges:true`, `seccomp=unconfined`. */
    securityOpt: z.array(z.string().min(1)).optional(),
    /** User namespace mode: `host` opts out of user-namespace remapping. */
    userns: z.string().min(1).optional(),
  })
  .strict();
export type ContainerSecurity = z.infer<typeof containerSecuritySchema>;

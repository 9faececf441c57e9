/**
 * What every tenant container runs with on a node, whatever its spec asks: tenants are strangers sharing
 * the node's kernel, network and disk.
 */

/**
 * The capabilities a container keeps; every other one is dropped (`CapDrop: ALL` first, so an engine
 * whose default set grows does not hand out more). Ordinary apps need these to start as root, bind a low
 * port and switch to their own user:
 * - CHOWN, DAC_OVERRIDE, FOWNER: an entrypoint running as root prepares files it does not own (chown of
 *   a data directory, writing into a directory of another user) before it drops to its user;
 * - SETUID, SETGID: that drop itself (`su-exec`, `gosu`, nginx and Postgres workers);
 * - NET_BIND_SERVICE: listening on a port below 1024 (80, 443) inside the container;
 * - KILL: a root supervisor signalling its workers that run under another user.
 */
export const KEPT_CAPABILITIES = [
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'SETUID',
  'SETGID',
  'NET_BIND_SERVICE',
  'KILL',
] as const;

/**
 * Docker's default capabilities that a tenant container does not get, and why (documentation: the
 * engine drops them through `CapDrop: ALL`; this list is what that removes compared with Docker's
 * defaults):
 * - NET_RAW: raw and packet sockets, i.e. forging ARP replies and IP packets towards other containers of
 *   the bridge (ARP spoofing, man in the middle); ping works without it (ICMP datagram sockets);
 * - MKNOD: creating device nodes, a step of several container escapes;
 * - SYS_CHROOT: chroot, used by escapes and nothing an app needs at run time;
 * - AUDIT_WRITE: writing into the kernel's audit log, only login daemons and sshd need it;
 * - SETFCAP: granting file capabilities to binaries, so that an unprivileged process regains them;
 * - SETPCAP: changing the capability sets of other processes of the container;
 * - FSETID: keeping set-user-ID bits on files it modifies.
 */
export const DROPPED_DEFAULT_CAPABILITIES = [
  'NET_RAW',
  'MKNOD',
  'SYS_CHROOT',
  'AUDIT_WRITE',
  'SETFCAP',
  'SETPCAP',
  'FSETID',
] as const;

/** Limits of the node for every container, from the agent's configuration. */
export interface NodeContainerLimits {
  /** Most processes and threads a container may have (a fork bomb stops there). */
  readonly pidsLimit: number;
  /** Size at which a container's log file is rotated, in Docker's notation (`10m`). */
  readonly logMaxSize: string;
  /** How many rotated log files are kept per container. */
  readonly logMaxFiles: number;
}

export const DEFAULT_CONTAINER_LIMITS: NodeContainerLimits = {
  pidsLimit: 1024,
  logMaxSize: '10m',
  logMaxFiles: 3,
};

/** Security settings of a container: the same for every tenant container. */
export interface ContainerSecurity {
  /** No process of the container gains privileges through set-user-ID binaries or file capabilities. */
  readonly noNewPrivileges: true;
  readonly capDrop: readonly string[];
  readonly capAdd: readonly string[];
}

export const CONTAINER_SECURITY: ContainerSecurity = {
  noNewPrivileges: true,
  capDrop: ['ALL'],
  capAdd: KEPT_CAPABILITIES,
};

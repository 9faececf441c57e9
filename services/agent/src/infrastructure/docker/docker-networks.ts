import type Docker from 'dockerode';
import { type SpaceNetwork } from '../../domain/container-labels';
import { type NetworkSummary } from '../../application/ports';
import { engineMessage, statusOf } from './docker-mapping';

/**
 * The spaces' bridge networks of one engine. Docker does not keep network names unique: two concurrent
 * creates of one name may both succeed (even with CheckDuplicate), and the engine then fails to start any
 * container on either ("ambiguous"). So creations and removals of one name in this process take turns,
 * every caller keeps the oldest network of a name and removes the unused others, and a launch that meets
 * a duplicate of another process, or finds its network removed by another process, tries again
 * (`isNetworkRace`). A network in use by a launch of this process is never removed.
 */
export class DockerNetworks {
  private readonly turns = new Map<string, Promise<unknown>>();
  /** Launches of this process under way per network name. */
  private readonly launching = new Map<string, number>();
  /**
   * Network ids by name as last resolved here, so a launch does not list the engine's networks each
   * time. An id gone stale (another process removed the network, or made a duplicate of its name) fails
   * the start as a network race (`isNetworkRace`): the caller then `forget`s it and resolves again.
   */
  private readonly known = new Map<string, string>();

  /** @param extraLabels added to the networks this creates (the installation's). */
  constructor(
    private readonly docker: Docker,
    private readonly extraLabels: Readonly<Record<string, string>> = {},
  ) {}

  /**
   * Resolves the network (creating it when missing) and marks a launch on it under way until `release`:
   * the removal of unused networks leaves it alone meanwhile.
   */
  async acquire(network: SpaceNetwork): Promise<{ id: string; release: () => void }> {
    return this.inTurn(network.name, async () => {
      const id =
        this.known.get(network.name) ?? (await this.find(network.name)) ?? (await this.create(network));
      this.known.set(network.name, id);
      this.launching.set(network.name, (this.launching.get(network.name) ?? 0) + 1);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        const left = (this.launching.get(network.name) ?? 1) - 1;
        if (left > 0) this.launching.set(network.name, left);
        else this.launching.delete(network.name);
      };
      return { id, release };
    });
  }

  /** Drops what `acquire` knew of the network's id: the next one asks the engine. */
  forget(name: string): void {
    this.known.delete(name);
  }

  async list(labels: Readonly<Record<string, string>>): Promise<NetworkSummary[]> {
    const found = await this.docker.listNetworks({
      filters: { label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) },
    });
    return Promise.all(
      found.map(async (n) => ({
        id: n.Id,
        name: n.Name,
        labels: n.Labels ?? {},
        createdAt: Date.parse(n.Created ?? '') || 0,
        containers: await this.attached(n.Id),
      })),
    );
  }

  async removeUnused(networkId: string): Promise<boolean> {
    let name: string;
    try {
      name = ((await this.docker.getNetwork(networkId).inspect()) as { Name: string }).Name;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw new Error(engineMessage(error));
    }
    return this.inTurn(name, async () => {
      if (this.launching.has(name) || (await this.attached(networkId)) > 0) return false;
      try {
        await this.docker.getNetwork(networkId).remove();
        if (this.known.get(name) === networkId) this.known.delete(name);
        return true;
      } catch (error) {
        // 404: gone already; 403/409: a container of another process got attached meanwhile.
        if ([403, 404, 409].includes(statusOf(error) ?? 0)) return false;
        throw new Error(engineMessage(error));
      }
    });
  }

  /** Containers in any state configured on the network (the engine's own list has running ones only). */
  private async attached(networkId: string): Promise<number> {
    const containers = await this.docker.listContainers({ all: true, filters: { network: [networkId] } });
    return containers.length;
  }

  /**
   * The network of exactly this name (the engine's name filter also matches parts of names). Concurrent
   * creates can leave duplicates, and the engine refuses to start any container on a name that two
   * networks hold. The one kept is the oldest that containers use, else the oldest: a process that
   * listed before the other network existed may already run a container on the younger one, which can
   * then never be removed. Every other duplicate no container uses is removed.
   */
  private async find(name: string): Promise<string | null> {
    const found = (await this.docker.listNetworks({ filters: { name: [name] } }))
      .filter((n) => n.Name === name)
      .map((n) => ({ id: n.Id, created: Date.parse(n.Created ?? '') || 0 }));
    if (found.length <= 1) return found[0]?.id ?? null;
    const networks = await Promise.all(
      found.map(async (n) => ({ ...n, used: (await this.attached(n.id)) > 0 })),
    );
    networks.sort(
      (a, b) => Number(b.used) - Number(a.used) || a.created - b.created || a.id.localeCompare(b.id),
    );
    const [kept, ...duplicates] = networks;
    for (const duplicate of duplicates.filter((d) => !d.used)) {
      await this.docker
        .getNetwork(duplicate.id)
        .remove()
        .catch(() => undefined);
    }
    return kept!.id;
  }

  private async create(network: SpaceNetwork): Promise<string> {
    try {
      await this.docker.createNetwork({
        Name: network.name,
        Driver: 'bridge',
        Labels: { ...network.labels, ...this.extraLabels },
        CheckDuplicate: true,
      });
    } catch (error) {
      // 409: another process created it first; `find` below takes the same one as everybody.
      if (statusOf(error) !== 409) throw new Error(engineMessage(error));
    }
    const id = await this.find(network.name);
    if (!id) throw new Error(`network ${network.name} not found right after its creation`);
    return id;
  }

  private inTurn<T>(name: string, work: () => Promise<T>): Promise<T> {
    const previous = this.turns.get(name) ?? Promise.resolve();
    const mine = previous.then(work, work);
    const settled = mine.catch(() => undefined);
    this.turns.set(name, settled);
    void settled.then(() => {
      if (this.turns.get(name) === settled) this.turns.delete(name);
    });
    return mine;
  }
}

/**
 * Whether the engine failed a create or start because of another process's move on the network: it
 * removed it, or created a duplicate of its name that it has not removed yet.
 */
export function isNetworkRace(error: unknown): boolean {
  const message = engineMessage(error);
  return /network/i.test(message) && (statusOf(error) === 404 || /not found|ambiguous/i.test(message));
}

import { type IdentityStore, type NodeIdentity } from '../../application/ports';

/** A node identity kept in memory only: a hollow agent that restarts joins as a new node. */
export class IdentityMemoryStore implements IdentityStore {
  private identity: NodeIdentity | null = null;

  async read(): Promise<NodeIdentity | null> {
    return this.identity;
  }

  async write(identity: NodeIdentity): Promise<void> {
    this.identity = { ...identity };
  }
}

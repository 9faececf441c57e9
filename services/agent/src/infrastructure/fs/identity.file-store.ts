import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { type IdentityStore, type NodeIdentity } from '../../application/ports';

const identitySchema = z.object({
  nodeId: z.uuid(),
  credential: z.string().min(32),
  clusterId: z.uuid().optional(),
});

/** The identity as a JSON file readable by its owner only, replaced atomically. */
export class IdentityFileStore implements IdentityStore {
  private readonly path: string;

  constructor(private readonly dir: string) {
    this.path = join(dir, 'identity.json');
  }

  async read(): Promise<NodeIdentity | null> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    const parsed = identitySchema.safeParse(JSON.parse(text));
    if (!parsed.success)
      throw new Error(`${this.path} is not a valid node identity; remove it to join as a new node`);
    return parsed.data;
  }

  async write(identity: NodeIdentity): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.tmp`;
    await writeFile(tmp, JSON.stringify(identity), { mode: 0o600 });
    await rename(tmp, this.path);
  }
}

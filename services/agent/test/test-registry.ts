import type Docker from 'dockerode';
import { credentialedPullRecord } from '../src/infrastructure/docker/docker-images';

export { TestRegistry } from '@pier/testing';

/** Removes the tags `refs` and the agent's records of their credentialed pulls (images other tags name stay). */
export async function removeImageTags(docker: Docker, refs: readonly string[]): Promise<void> {
  for (const ref of refs) {
    const info = await docker
      .getImage(ref)
      .inspect()
      .catch(() => null);
    const tags = info ? [ref, credentialedPullRecord(ref, info.Id)] : [ref];
    for (const tag of tags) {
      await docker
        .getImage(tag)
        .remove()
        .catch(() => undefined);
    }
  }
}

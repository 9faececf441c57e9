import { createHash } from 'node:crypto';
import type Docker from 'dockerode';
import {
  classifyRegistryError,
  imageNames,
  type LocalImage,
  type RegistryAnswer,
} from '../../domain/image-access';
import { type RegistryAuth } from '../../application/ports';
import { engineMessage, statusOf } from './docker-mapping';

/**
 * Repository of the tags that record a pull with credentials. The record lives in the engine, next to
 * the image it is about: it survives agent restarts and a lost agent state directory, every agent of the
 * engine sees it (they share the image cache), and it goes when the image goes.
 */
const RECORD_REPOSITORY = 'pier-credentialed-pull';

/**
 * The tag recording that `image` (a reference) was pulled with credentials as `imageId`:
 * `pier-credentialed-pull:<sha256 of the repository, 63 hex>-<image id, 64 hex>`, one per repository and
 * image (a tag holds at most 128 characters).
 */
export function credentialedPullRecord(image: string, imageId: string): string {
  const repo = createHash('sha256').update(imageNames(image).repository).digest('hex').slice(0, 63);
  return `${RECORD_REPOSITORY}:${repo}-${imageId.replace(/^sha256:/, '')}`;
}

/** The image verbs of the Docker driver. */
export class DockerImages {
  constructor(private readonly docker: Docker) {}

  async local(image: string): Promise<LocalImage | null> {
    const names = imageNames(image);
    // The records are no images of anybody: a reference to one must not run what it points to.
    if (names.repository === RECORD_REPOSITORY) return null;
    let info: Docker.ImageInspectInfo;
    try {
      info = await this.docker.getImage(image).inspect();
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw new Error(engineMessage(error));
    }
    const tags = info.RepoTags ?? [];
    // The engine also finds images by id or id prefix: only a listed name is this reference's image.
    if (!tags.includes(names.listed) && !(info.RepoDigests ?? []).includes(names.listed)) return null;
    return { id: info.Id, pulledWithCredentials: tags.includes(credentialedPullRecord(image, info.Id)) };
  }

  async pull(image: string, auth?: RegistryAuth): Promise<void> {
    const authconfig = auth
      ? { username: auth.username, password: auth.password, serveraddress: auth.server }
      : undefined;
    let stream: NodeJS.ReadableStream;
    try {
      stream = (await this.docker.pull(image, authconfig ? { authconfig } : {})) as NodeJS.ReadableStream;
    } catch (error) {
      throw new Error(engineMessage(error));
    }
    // Docker answers 200 and reports a failure inside the progress stream.
    const output = await new Promise<{ error?: string }[]>((resolve, reject) =>
      this.docker.modem.followProgress(stream, (error: Error | null, out: { error?: string }[]) =>
        error ? reject(error) : resolve(out),
      ),
    );
    const failure = output.find((line) => line.error);
    if (failure) throw new Error(failure.error);
  }

  async recordCredentialedPull(image: string): Promise<void> {
    try {
      const info = await this.docker.getImage(image).inspect();
      const record = credentialedPullRecord(image, info.Id);
      await this.docker.getImage(info.Id).tag({
        repo: RECORD_REPOSITORY,
        tag: record.slice(RECORD_REPOSITORY.length + 1),
      });
    } catch (error) {
      throw new Error(engineMessage(error));
    }
  }

  async anonymousAccess(image: string): Promise<{ answer: RegistryAnswer; detail: string }> {
    try {
      await this.docker.getImage(image).distribution();
      return { answer: 'readable', detail: '' };
    } catch (error) {
      const detail = engineMessage(error);
      return { answer: classifyRegistryError(detail), detail };
    }
  }
}

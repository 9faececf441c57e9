import { registryOf } from './container-spec';

/** What the engine holds under an image reference. */
export interface LocalImage {
  readonly id: string;
  /** This node pulled the image under this repository with registry credentials at least once. */
  readonly pulledWithCredentials: boolean;
}

/** What a registry said to a manifest request (a pull, or a check without pulling). */
export type RegistryAnswer = 'readable' | 'denied' | 'missing' | 'unavailable';

/** How a launch gets its image. */
export type ImageDecision =
  | { readonly action: 'use-cached' }
  | { readonly action: 'pull' }
  | { readonly action: 'refuse'; readonly why: string };

/**
 * The repository of a reference and the name the engine lists it under (`RepoTags` / `RepoDigests`, in
 * Docker's familiar form: no `docker.io/`, no `library/`, `:latest` when neither tag nor digest is given).
 */
export function imageNames(image: string): { repository: string; listed: string } {
  const at = image.indexOf('@');
  const digest = at < 0 ? '' : image.slice(at);
  const named = at < 0 ? image : image.slice(0, at);
  const colon = named.lastIndexOf(':');
  const hasTag = colon > named.lastIndexOf('/');
  const tag = hasTag ? named.slice(colon) : '';
  const repository = familiar(hasTag ? named.slice(0, colon) : named);
  return { repository, listed: repository + (digest || tag || ':latest') };
}

function familiar(repository: string): string {
  const withoutHub = repository.replace(/^(?:docker\.io|index\.docker\.io|registry-1\.docker\.io)\//, '');
  if (withoutHub === repository && registryOf(repository) !== 'docker.io') return repository;
  return withoutHub.replace(/^library\/(?=[^/]+$)/, '');
}

/**
 * Whether the image's registry is named in the reference (`host[:port]/…`). Images without one may be
 * built on the node (`pier/busybox`): asking Docker Hub about them would refuse or fail them.
 */
export function hasExplicitRegistry(image: string): boolean {
  return registryOf(image) !== 'docker.io';
}

/**
 * The registry's answer in an engine's error message. Engines answer most failures with a 500 and the
 * registry's words, so the words decide. Anything unrecognised counts as unavailable: access could
 * not be confirmed.
 */
export function classifyRegistryError(message: string): Exclude<RegistryAnswer, 'readable'> {
  const m = message.toLowerCase();
  if (/no basic auth credentials|unauthorized|authentication required|denied|forbidden|\b40[13]\b/.test(m)) {
    return 'denied';
  }
  if (/manifest unknown|name unknown|not found|does not exist/.test(m)) return 'missing';
  return 'unavailable';
}

/**
 * Whether a launch without credentials must ask the registry before using the image: always when the
 * reference names its registry, and for any image this node once pulled with credentials (its
 * repository is private somewhere, whatever the reference looks like).
 */
export function needsAnonymousCheck(image: string, local: LocalImage | null): boolean {
  return hasExplicitRegistry(image) || !!local?.pulledWithCredentials;
}

/**
 * A launch without credentials for the image's registry. `answer` is the registry's answer to an
 * anonymous manifest request, or null when none was needed. A registry that says no is final, even for
 * a cached image; one that cannot be asked leaves the cached image usable only when this node never
 * needed credentials for it.
 */
export function decideWithoutCredentials(
  image: string,
  local: LocalImage | null,
  answer: RegistryAnswer | null,
): ImageDecision {
  const registry = registryOf(image);
  if (answer === null || answer === 'readable') return local ? { action: 'use-cached' } : { action: 'pull' };
  if (answer === 'denied') {
    return refuse(
      `${registry} denies access without credentials, and the version has no registry secret for it`,
    );
  }
  if (local && !local.pulledWithCredentials) return { action: 'use-cached' };
  if (answer === 'missing') return refuse(`${registry} has no such image`);
  return local
    ? refuse(
        `${registry} cannot be reached to confirm access, and the cached image was pulled with credentials`,
      )
    : refuse(`${registry} cannot be reached`);
}

/**
 * A launch whose pull with credentials failed with `answer`: refused credentials or a missing image are
 * final; an unreachable registry leaves the cached image usable only when this node never needed
 * credentials for it (otherwise anyone could claim to hold them while the registry is down).
 */
export function decideAfterFailedPull(
  local: LocalImage | null,
  answer: Exclude<RegistryAnswer, 'readable'>,
): ImageDecision {
  if (answer === 'unavailable' && local && !local.pulledWithCredentials) return { action: 'use-cached' };
  const why = {
    denied: 'the registry refused the credentials of the registry secret',
    missing: 'the registry has no such image',
    unavailable: local
      ? 'the registry cannot be reached to re-check the credentials of the cached image'
      : 'the registry cannot be reached',
  }[answer];
  return refuse(why);
}

function refuse(why: string): ImageDecision {
  return { action: 'refuse', why };
}

import { PierError, type Quota } from '@pier/contracts';

/** What a space asks for now: apps, desired instances and their CPU and memory. */
export interface SpaceUsage {
  readonly apps: number;
  readonly instances: number;
  readonly cpu: number;
  readonly memory: number;
}

/** Whether any of these limits is set, i.e. whether a change of them must be checked at all. */
export function limits(quota: Quota, names: readonly (keyof Quota)[]): boolean {
  return names.some((name) => quota[name] !== null);
}

/** One more app. */
export function assertAppFits(quota: Quota, usage: SpaceUsage): void {
  assertWithin(quota, [['maxApps', usage.apps + 1]]);
}

/** `delta` more instances of a version that asks for `resources` each. */
export function assertInstancesFit(
  quota: Quota,
  usage: SpaceUsage,
  delta: number,
  resources: { readonly cpu: number; readonly memory: number },
): void {
  assertWithin(quota, [
    ['maxInstances', usage.instances + delta],
    ['maxCpuMillicores', usage.cpu + delta * resources.cpu],
    ['maxMemoryMiB', usage.memory + delta * resources.memory],
  ]);
}

function assertWithin(quota: Quota, checks: readonly [keyof Quota, number][]): void {
  for (const [name, requested] of checks) {
    const limit = quota[name];
    if (limit !== null && requested > limit) {
      throw new PierError(
        'QUOTA_EXCEEDED',
        `the space quota ${name} is ${limit}; this would need ${requested}`,
        { quota: name, limit, requested },
      );
    }
  }
}

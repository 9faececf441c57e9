import { appId } from '@pier/contracts';
import { type AppRoute, type InstanceRoute, type RouteTable, type VersionRoute } from './route-table';

/**
 * A table being changed: its maps are copied on the first write and mutated afterwards, so a batch of
 * events copies each map once. The table it started from is never changed.
 */
export class Draft {
  apps: ReadonlyMap<string, AppRoute>;
  instances: ReadonlyMap<string, InstanceRoute>;
  private ownApps?: Map<string, AppRoute>;
  private ownInstances?: Map<string, InstanceRoute>;

  constructor(private readonly base: RouteTable) {
    this.apps = base.apps;
    this.instances = base.instances;
  }

  finish(): RouteTable {
    if (!this.ownApps && !this.ownInstances) return this.base;
    return { apps: this.apps, instances: this.instances };
  }

  setApp(id: string, app: AppRoute): void {
    this.writableApps().set(id, app);
  }

  deleteApp(id: string): void {
    if (this.apps.has(id)) this.writableApps().delete(id);
  }

  updateApp(ref: { space: string; app: string }, update: (app: AppRoute) => AppRoute): void {
    const id = appId(ref.space, ref.app);
    const app = this.apps.get(id);
    if (!app) return;
    const next = update(app);
    if (next !== app) this.setApp(id, next);
  }

  setInstance(instance: InstanceRoute): void {
    this.writableInstances().set(instance.instanceId, instance);
  }

  deleteInstance(instanceId: string): void {
    if (this.instances.has(instanceId)) this.writableInstances().delete(instanceId);
  }

  updateInstance(instanceId: string, update: (instance: InstanceRoute) => InstanceRoute): void {
    const instance = this.instances.get(instanceId);
    if (!instance) return;
    const next = update(instance);
    if (next !== instance) this.setInstance(next);
  }

  /** Forgets the instances of an app (or of one of its versions). */
  dropInstancesOf(id: string, version?: number): void {
    for (const instance of [...this.instances.values()]) {
      if (instance.appId === id && (version === undefined || instance.version === version)) {
        this.deleteInstance(instance.instanceId);
      }
    }
  }

  takeSlot(instance: InstanceRoute): void {
    const version = this.apps.get(instance.appId)?.versions.get(instance.version);
    if (!version || version.slots.includes(instance.instanceId)) return;
    const slots = [...version.slots];
    const free = slots.indexOf(null);
    if (free === -1) slots.push(instance.instanceId);
    else slots[free] = instance.instanceId;
    this.setVersion(instance.appId, { ...version, slots });
  }

  freeSlot(instanceId: string): void {
    const instance = this.instances.get(instanceId);
    const version = instance && this.apps.get(instance.appId)?.versions.get(instance.version);
    if (!instance || !version || !version.slots.includes(instanceId)) return;
    this.setVersion(instance.appId, {
      ...version,
      slots: version.slots.map((s) => (s === instanceId ? null : s)),
    });
  }

  private setVersion(id: string, version: VersionRoute): void {
    const app = this.apps.get(id)!;
    const versions = new Map(app.versions);
    versions.set(version.version, version);
    this.setApp(id, { ...app, versions });
  }

  private writableApps(): Map<string, AppRoute> {
    if (!this.ownApps) this.apps = this.ownApps = new Map(this.apps);
    return this.ownApps;
  }

  private writableInstances(): Map<string, InstanceRoute> {
    if (!this.ownInstances) this.instances = this.ownInstances = new Map(this.instances);
    return this.ownInstances;
  }
}

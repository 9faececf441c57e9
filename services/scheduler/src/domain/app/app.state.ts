import { type AppEvent, type VersionSpec } from '@pier/contracts';

export interface VersionState {
  readonly version: number;
  readonly spec: VersionSpec;
  /** Instances wanted now (0 when stopped). */
  readonly desired: number;
  readonly deleted: boolean;
  readonly createdAt: string;
}

export interface AppState {
  readonly space: string;
  readonly app: string;
  readonly clusterId: string;
  readonly defaultDomain: string;
  readonly domains: readonly string[];
  readonly versions: Readonly<Record<number, VersionState>>;
  /** Hundredths of a percent per version number; absent versions get none. */
  readonly weights: Readonly<Record<number, number>>;
  /** Clients stick to one version and instance (off until `AppStickySessionsSet` turns it on). */
  readonly stickySessions: boolean;
  readonly deleting: boolean;
  readonly deleted: boolean;
  readonly createdAt: string;
}

export function evolveApp(state: AppState | null, event: AppEvent): AppState | null {
  const at = event.metadata.occurredAt;
  if (event.type === 'AppCreated') {
    const d = event.data;
    return {
      space: d.space,
      app: d.app,
      clusterId: d.clusterId,
      defaultDomain: d.defaultDomain,
      domains: [],
      versions: {},
      weights: {},
      stickySessions: false,
      deleting: false,
      deleted: false,
      createdAt: at,
    };
  }
  if (!state) return state;
  switch (event.type) {
    case 'AppDomainAdded':
      return { ...state, domains: [...state.domains, event.data.host] };
    case 'AppDomainRemoved':
      return { ...state, domains: state.domains.filter((h) => h !== event.data.host) };
    case 'AppDeletionRequested':
      return { ...state, deleting: true };
    case 'AppDeleted':
      return { ...state, deleted: true };
    case 'VersionCreated':
      return {
        ...state,
        versions: {
          ...state.versions,
          [event.data.version]: {
            version: event.data.version,
            spec: event.data.spec,
            desired: 0,
            deleted: false,
            createdAt: at,
          },
        },
      };
    case 'VersionDeleted': {
      const v = state.versions[event.data.version];
      return v ? { ...state, versions: { ...state.versions, [v.version]: { ...v, deleted: true } } } : state;
    }
    case 'VersionScaled': {
      const v = state.versions[event.data.version];
      return v
        ? { ...state, versions: { ...state.versions, [v.version]: { ...v, desired: event.data.instances } } }
        : state;
    }
    case 'TrafficSet':
      return {
        ...state,
        weights: Object.fromEntries(Object.entries(event.data.weights).map(([k, w]) => [Number(k), w])),
      };
    case 'AppStickySessionsSet':
      return { ...state, stickySessions: event.data.enabled };
  }
}

/** The app if it exists and is not deleted (it may be being deleted). */
export const liveApp = (s: AppState | null): AppState | null => (s && !s.deleted ? s : null);

/** Versions that exist (not deleted), lowest number first. */
export const liveVersions = (s: AppState): VersionState[] =>
  Object.values(s.versions)
    .filter((v) => !v.deleted)
    .sort((a, b) => a.version - b.version);

export * from './data-source';
export * from './projection-checkpoints.migration';
export * from './projection-runner';
export * from './keyed-lock';
export * from './poison';
export * from './rebuild-projections';

export { SchedulerModule } from './scheduler.module';
export { schedulerConfigSchema, type SchedulerConfig } from './config';

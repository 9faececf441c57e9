export { SchedulerModule } from './scheduler.module';
export { schedulerConfigSchema, type SchedulerConfig } from './config';
export { schedulerService } from './service';

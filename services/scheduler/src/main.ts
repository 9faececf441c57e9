import 'reflect-metadata';
import { serviceMain } from '@pier/nest';
import { schedulerService } from './service';

serviceMain(schedulerService);

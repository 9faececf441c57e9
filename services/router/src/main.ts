import 'reflect-metadata';
import { serviceMain } from '@pier/nest';
import { routerService } from './service';

serviceMain(routerService);

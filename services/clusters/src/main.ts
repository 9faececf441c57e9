import 'reflect-metadata';
import { serviceMain } from '@pier/nest';
import { clustersService } from './service';

serviceMain(clustersService);

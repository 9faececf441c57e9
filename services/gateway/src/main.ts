import 'reflect-metadata';
import { serviceMain } from '@pier/nest';
import { gatewayService } from './service';

serviceMain(gatewayService);

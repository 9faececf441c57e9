import 'reflect-metadata';
import { serviceMain } from '@pier/nest';
import { authService } from './service';

serviceMain(authService);

export { AuthModule } from './auth.module';
export { authConfigSchema, type AuthConfig } from './config';
export { authService } from './service';

import { commonEnv, envInt, envPort } from '@pier/config';
import { z } from 'zod';

export const gatewayConfigSchema = z.object({
  ...commonEnv,
  PIER_API_PORT: envPort(4000),
  PIER_API_HOST: z.string().min(1).default('127.0.0.1'),
  /** Time budget of one call from the gateway to a service. */
  PIER_RPC_TIMEOUT_MS: envInt(5000, 100, 120_000),
  /** Largest accepted request body. */
  PIER_API_BODY_LIMIT_BYTES: envInt(1024 * 1024, 1024, 1024 * 1024 * 1024),
});

export type GatewayConfig = z.output<typeof gatewayConfigSchema>;

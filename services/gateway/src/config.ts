import { commonEnv, envInt, envPort } from '@pier/config';
import { z } from 'zod';
import { type AuditRateLimits } from './domain/audit-rate-limit';

export const gatewayConfigSchema = z.object({
  ...commonEnv,
  PIER_API_PORT: envPort(4000),
  PIER_API_HOST: z.string().min(1).default('127.0.0.1'),
  /** Time budget of one call from the gateway to a service. */
  PIER_RPC_TIMEOUT_MS: envInt(5000, 100, 120_000),
  /** Largest accepted request body. */
  PIER_API_BODY_LIMIT_BYTES: envInt(1024 * 1024, 1024, 1024 * 1024 * 1024),
  /**
   * Audit records of refused requests (anonymous, forbidden, invalid before authorization) one client
   * address may write at once, then per minute; every address together per minute. What is over is
   * counted and summed up in a later record.
   */
  PIER_AUDIT_REFUSED_BURST: envInt(20, 1, 100_000),
  PIER_AUDIT_REFUSED_PER_MINUTE: envInt(30, 1, 1_000_000),
  PIER_AUDIT_REFUSED_GLOBAL_PER_MINUTE: envInt(600, 1, 10_000_000),
});

export type GatewayConfig = z.output<typeof gatewayConfigSchema>;

/** The audit log's limits on records of refused requests (`domain/audit-rate-limit.ts`). */
export const auditRateLimits = (c: GatewayConfig): AuditRateLimits => ({
  burst: c.PIER_AUDIT_REFUSED_BURST,
  perMinute: c.PIER_AUDIT_REFUSED_PER_MINUTE,
  globalPerMinute: c.PIER_AUDIT_REFUSED_GLOBAL_PER_MINUTE,
  maxAddresses: 10_000,
});

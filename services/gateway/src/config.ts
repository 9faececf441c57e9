import { commonEnv, envInt, envPort } from '@pier/config';
import { z } from 'zod';
import { type AuditRateLimits } from './domain/audit-rate-limit';
import { type AdmissionConfig } from './interface/http/admission.hook';

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
  /**
   * Admission control (`domain/admission.ts`): calls of each class (writes, reads) carried out at once at
   * most — the limit adapts below this to keep answers within the latency target — and how long a call
   * may wait for a slot before it is refused with 503 API_OVERLOADED.
   */
  PIER_API_MAX_CONCURRENT_WRITES: envInt(256, 1, 100_000),
  PIER_API_MAX_CONCURRENT_READS: envInt(512, 1, 100_000),
  PIER_API_WRITE_LATENCY_TARGET_MS: envInt(250, 1, 60_000),
  PIER_API_READ_LATENCY_TARGET_MS: envInt(100, 1, 60_000),
  PIER_API_ADMISSION_WAIT_MS: envInt(25, 0, 10_000),
  /**
   * Event loop delay (p99 over 250 ms) above which admission control shrinks its limits too; 0: never.
   * Off by default: the refusals are work on that same loop, and in bench:api's overload phase (one
   * process, 3x) it did not make them prompter (refusal p99 180 ms with it at 50, 101 ms without; goodput
   * 32.8 and 38.4 calls/s: one run each, within the runs' spread).
   */
  PIER_API_EVENT_LOOP_DELAY_TARGET_MS: envInt(0, 0, 60_000),
  /**
   * How long an answer of the auth service (who a credential is, their role in a space) is reused at
   * most (0: never). It is dropped earlier when the auth service says the tenancy changed, when the
   * NATS connection drops, and when the credential expires; see `infrastructure/authorizer.ts`.
   */
  PIER_API_AUTHORIZATION_CACHE_TTL_MS: envInt(30_000, 0, 3_600_000),
  /** Answers kept at most (credential and space pairs); the oldest go first. */
  PIER_API_AUTHORIZATION_CACHE_ENTRIES: envInt(10_000, 1, 10_000_000),
});

export type GatewayConfig = z.output<typeof gatewayConfigSchema>;

/** The audit log's limits on records of refused requests (`domain/audit-rate-limit.ts`). */
export const auditRateLimits = (c: GatewayConfig): AuditRateLimits => ({
  burst: c.PIER_AUDIT_REFUSED_BURST,
  perMinute: c.PIER_AUDIT_REFUSED_PER_MINUTE,
  globalPerMinute: c.PIER_AUDIT_REFUSED_GLOBAL_PER_MINUTE,
  maxAddresses: 10_000,
});

/** Admission control of the API (`interface/http/admission.hook.ts`). */
export const admissionConfig = (c: GatewayConfig): AdmissionConfig => {
  const limits = (max: number, latencyTargetMs: number) => ({
    initialLimit: Math.min(max, 32),
    minLimit: Math.min(max, 4),
    maxLimit: max,
    latencyTargetMs,
    maxQueue: Math.min(max, 128),
    maxQueueWaitMs: c.PIER_API_ADMISSION_WAIT_MS,
  });
  return {
    write: limits(c.PIER_API_MAX_CONCURRENT_WRITES, c.PIER_API_WRITE_LATENCY_TARGET_MS),
    read: limits(c.PIER_API_MAX_CONCURRENT_READS, c.PIER_API_READ_LATENCY_TARGET_MS),
    retryAfterSeconds: 1,
    eventLoopDelayTargetMs: c.PIER_API_EVENT_LOOP_DELAY_TARGET_MS,
  };
};

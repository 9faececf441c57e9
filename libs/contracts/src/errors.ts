/**
 * Every error code Pier answers with. The gateway maps each one to an HTTP status in a single exhaustive
 * table, so adding a code here without deciding its status fails to compile.
 */
export const ERROR_CODES = [
  'VALIDATION_FAILED',
  'MALFORMED_JSON',
  'UNSUPPORTED_MEDIA_TYPE',
  'PAYLOAD_TOO_LARGE',
  'URI_TOO_LONG',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'ROUTE_NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'CLUSTER_NOT_FOUND',
  'NODE_NOT_FOUND',
  'JOIN_TOKEN_NOT_FOUND',
  'CLUSTER_NAME_TAKEN',
  'NODE_ALREADY_JOINED',
  'NODE_HAS_LEFT',
  'INVALID_STATE_TRANSITION',
  'CONCURRENCY_CONFLICT',
  'JOIN_TOKEN_INVALID',
  'JOIN_TOKEN_EXPIRED',
  'JOIN_TOKEN_REVOKED',
  'JOIN_TOKEN_EXHAUSTED',
  'NODE_CREDENTIAL_INVALID',
  'RATE_LIMITED',
  'POLICY_PRIVILEGED',
  'POLICY_HOST_NETWORK',
  'POLICY_SHARED_NETWORK_NAMESPACE',
  'POLICY_SHARED_NAMESPACE',
  'POLICY_HOST_PID',
  'POLICY_HOST_IPC',
  'POLICY_HOST_USERNS',
  'POLICY_ADDED_CAPABILITY',
  'POLICY_HOST_DEVICE',
  'POLICY_DOCKER_SOCKET',
  'POLICY_HOST_PATH_MOUNT',
  'POLICY_SHARED_VOLUME',
  'POLICY_UNCONFINED',
  'INVALID_CREDENTIALS',
  'EMAIL_TAKEN',
  'WEAK_PASSWORD',
  'USER_NOT_FOUND',
  'SPACE_NOT_FOUND',
  'SPACE_NAME_TAKEN',
  'PERSONAL_SPACE',
  'MEMBER_NOT_FOUND',
  'LAST_OWNER',
  /** A space still holds apps or secrets; delete them first or ask for a cascade. */
  'SPACE_NOT_EMPTY',
  /** A space is being deleted (its apps are stopping); its name is free once that is done. */
  'SPACE_DELETING',
  'API_TOKEN_NOT_FOUND',
  /** A token may only create tokens whose spaces and lifetime lie within its own. */
  'TOKEN_SCOPE_EXCEEDED',
  'SECRET_NOT_FOUND',
  'SECRET_NAME_TAKEN',
  'APP_NOT_FOUND',
  'APP_NAME_TAKEN',
  'APP_DELETING',
  'VERSION_NOT_FOUND',
  'VERSION_HAS_INSTANCES',
  'VERSION_NOT_DEPLOYED',
  'DOMAIN_TAKEN',
  'DOMAIN_NOT_FOUND',
  /** A host inside another space's namespace, or under the base domain without being a platform admin. */
  'DOMAIN_RESERVED',
  'QUOTA_EXCEEDED',
  'SECRET_INVALID',
  'TLS_CERTIFICATE_INVALID',
  'TLS_CHAIN_INVALID',
  'TLS_KEY_INVALID',
  'TLS_KEY_MISMATCH',
  'TLS_CERTIFICATE_EXPIRED',
  'TLS_CERTIFICATE_NOT_YET_VALID',
  /** Answered by the router (HAProxy), not the API: the app has no ready instance to serve a request. */
  'NO_READY_INSTANCE',
  /**
   * Answered by the router (HAProxy), not the API: the app's instances are all busy (each takes a bounded
   * number of requests at once) and the request waited its bounded time in the queue; with `Retry-After`.
   */
  'APP_OVERLOADED',
  /**
   * The API is carrying out all the calls it can at once (admission control) and this one could not wait
   * for a slot within its short bound; nothing was done. With `Retry-After`.
   */
  'API_OVERLOADED',
  'SERVICE_UNAVAILABLE',
  'DEADLINE_EXCEEDED',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** The error body of the public API and of every RPC reply. */
export interface ErrorBody {
  readonly code: ErrorCode;
  readonly message: string;
  readonly details?: Record<string, unknown>;
}

/**
 * An expected failure with a stable code. Thrown by domain and application code; translated to HTTP or
 * an RPC reply only at the edge.
 */
export class PierError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'PierError';
  }

  toBody(): ErrorBody {
    return this.details
      ? { code: this.code, message: this.message, details: this.details }
      : { code: this.code, message: this.message };
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

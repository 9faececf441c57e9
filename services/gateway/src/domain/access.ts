import { type ErrorCode, type Principal, type SpaceRole } from '@pier/contracts';

/** What a space route needs: to read, to change (apps, secrets), to manage (members, the space), to audit. */
export type Permission = 'read' | 'write' | 'manage' | 'audit';

/**
 * Who may call a route. `public` routes are listed in one place (`PUBLIC_OPERATIONS`); `space` routes
 * name their `{space}` parameter's permission; `self` names a user-id parameter that lets a member act
 * on themselves (leaving a space) without the permission.
 */
export type Access =
  | { readonly kind: 'public' }
  | { readonly kind: 'authenticated' }
  | { readonly kind: 'admin' }
  | { readonly kind: 'space'; readonly permission: Permission; readonly self?: string };

export const ROLE_PERMISSIONS: Readonly<Record<SpaceRole, readonly Permission[]>> = {
  owner: ['read', 'write', 'manage', 'audit'],
  developer: ['read', 'write'],
  auditor: ['read', 'audit'],
};

export interface Authorization {
  readonly principal: Principal;
  readonly space: { readonly name: string; readonly exists: boolean; readonly role: SpaceRole | null } | null;
}

export type AccessDecision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly code: ErrorCode; readonly message: string };

const allow: AccessDecision = { allowed: true };
const deny = (code: ErrorCode, message: string): AccessDecision => ({ allowed: false, code, message });

/** Whether a platform admin acts with full powers: a token limited to spaces never does. */
export const actsAsAdmin = (p: Principal): boolean => p.platformRole === 'admin' && p.tokenSpaces === null;

/**
 * The authorization rule of the API, pure. A space the caller may not see is answered as not found,
 * so its existence does not leak; a space they see but may not change is forbidden.
 */
export function decideAccess(
  access: Access,
  auth: Authorization,
  params: Readonly<Record<string, string>>,
): AccessDecision {
  const { principal } = auth;
  switch (access.kind) {
    case 'public':
    case 'authenticated':
      return allow;
    case 'admin':
      return actsAsAdmin(principal) ? allow : deny('FORBIDDEN', 'only platform admins may do this');
    case 'space': {
      const space = auth.space;
      const hidden = deny('SPACE_NOT_FOUND', `space ${params.space ?? ''} does not exist`);
      if (!space || !space.exists) return hidden;
      if (principal.tokenSpaces !== null && !principal.tokenSpaces.includes(space.name)) return hidden;
      if (actsAsAdmin(principal)) return allow;
      if (!space.role) return hidden;
      if (ROLE_PERMISSIONS[space.role].includes(access.permission)) return allow;
      if (access.self && params[access.self] === principal.userId) return allow;
      return deny(
        'FORBIDDEN',
        `the ${space.role} role may not ${access.permission === 'read' ? 'read' : 'change'} this`,
      );
    }
  }
}

/**
 * The space whose audit log records a request, or null for the platform's log. Only a request the
 * caller was allowed to make in an existing space goes to that space's log: anything refused — anonymous,
 * unauthenticated, forbidden, or answered as not found because the caller has no right to the space —
 * must never write into a log its owners read (nor into one of a space that does not exist yet).
 */
export function auditSpace(access: Access, auth: Authorization, decision: AccessDecision): string | null {
  if (access.kind !== 'space' || !decision.allowed || !auth.space?.exists) return null;
  return auth.space.name;
}

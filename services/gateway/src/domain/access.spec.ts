import { type Principal } from '@pier/contracts';
import { type Access, auditSpace, type Authorization, decideAccess } from './access';

const user: Principal = {
  userId: '11111111-1111-4111-8111-111111111111',
  email: 'u@example.com',
  displayName: 'U',
  platformRole: 'user',
  via: 'session',
  sessionId: '22222222-2222-4222-8222-222222222222',
  tokenId: null,
  tokenSpaces: null,
};
const admin: Principal = { ...user, platformRole: 'admin' };
const at = (
  principal: Principal,
  role: Authorization['space'] extends infer S ? (S extends { role: infer R } ? R : never) : never,
  exists = true,
): Authorization => ({
  principal,
  space: { name: 'acme', exists, role },
});
const params = { space: 'acme' };
const space = (permission: 'read' | 'write' | 'manage' | 'audit', self?: string): Access => ({
  kind: 'space',
  permission,
  self,
});
const result = (access: Access, auth: Authorization, p: Record<string, string> = params) => {
  const d = decideAccess(access, auth, p);
  return d.allowed ? 'allow' : d.code;
};

describe('decideAccess', () => {
  it.each([
    ['owner', 'manage', 'allow'],
    ['owner', 'audit', 'allow'],
    ['developer', 'write', 'allow'],
    ['developer', 'manage', 'FORBIDDEN'],
    ['developer', 'audit', 'FORBIDDEN'],
    ['auditor', 'read', 'allow'],
    ['auditor', 'audit', 'allow'],
    ['auditor', 'write', 'FORBIDDEN'],
    ['auditor', 'manage', 'FORBIDDEN'],
  ] as const)('a %s asking to %s: %s', (role, permission, expected) => {
    expect(result(space(permission), at(user, role))).toBe(expected);
  });

  it('hides spaces from non-members and answers missing spaces the same way', () => {
    expect(result(space('read'), at(user, null))).toBe('SPACE_NOT_FOUND');
    expect(result(space('read'), at(user, null, false))).toBe('SPACE_NOT_FOUND');
  });

  it('lets platform admins into every space, but not through a token limited to other spaces', () => {
    expect(result(space('manage'), at(admin, null))).toBe('allow');
    expect(result(space('read'), at({ ...admin, tokenSpaces: ['other'] }, null))).toBe('SPACE_NOT_FOUND');
    expect(result({ kind: 'admin' }, at({ ...admin, tokenSpaces: ['acme'] }, null))).toBe('FORBIDDEN');
  });

  it('keeps a limited token inside its spaces even for an owner', () => {
    expect(result(space('read'), at({ ...user, via: 'token', tokenSpaces: ['other'] }, 'owner'))).toBe(
      'SPACE_NOT_FOUND',
    );
    expect(result(space('manage'), at({ ...user, via: 'token', tokenSpaces: ['acme'] }, 'owner'))).toBe(
      'allow',
    );
  });

  it('lets a member act on themselves where the route allows it', () => {
    const leave = space('manage', 'userId');
    expect(result(leave, at(user, 'auditor'), { space: 'acme', userId: user.userId })).toBe('allow');
    expect(
      result(leave, at(user, 'auditor'), { space: 'acme', userId: '33333333-3333-4333-8333-333333333333' }),
    ).toBe('FORBIDDEN');
  });

  it('reserves admin routes to admins', () => {
    expect(result({ kind: 'admin' }, { principal: user, space: null })).toBe('FORBIDDEN');
    expect(result({ kind: 'admin' }, { principal: admin, space: null })).toBe('allow');
    expect(result({ kind: 'authenticated' }, { principal: user, space: null })).toBe('allow');
  });

  describe('auditSpace', () => {
    const where = (access: Access, auth: Authorization) =>
      auditSpace(access, auth, decideAccess(access, auth, params));

    it('records an allowed request in its space’s log', () => {
      expect(where(space('write'), at(user, 'developer'))).toBe('acme');
      expect(where(space('manage'), at(admin, null))).toBe('acme');
    });

    it('records refused requests, and requests concerning no space, in the platform log only', () => {
      expect(where(space('manage'), at(user, 'auditor'))).toBeNull(); // 403
      expect(where(space('read'), at(user, null))).toBeNull(); // 404: no right to the space
      expect(where(space('read'), at(user, null, false))).toBeNull(); // no such space
      expect(where(space('read'), at({ ...admin, tokenSpaces: ['other'] }, null))).toBeNull();
      expect(where({ kind: 'authenticated' }, at(user, 'owner'))).toBeNull();
    });
  });
});

import {
  Authorize,
  CreateApiToken,
  CreateSpace,
  DeleteSecret,
  DeleteSpace,
  GetQuota,
  GetSecret,
  GetSpace,
  GetUser,
  ListApiTokens,
  ListAudit,
  ListMembers,
  ListSecrets,
  ListSpaces,
  ListUsers,
  Login,
  Logout,
  Refresh,
  RegisterUser,
  RemoveMember,
  RevealSecret,
  RevokeApiToken,
  SetMember,
  SetQuota,
  StoreSecret,
  UpdateSpace,
} from '@pier/contracts';
import { type RpcServer } from '@pier/messaging';
import { type ApiTokensHandler } from '../../application/api-tokens/api-tokens.handler';
import { type AuthorizeHandler } from '../../application/authorize/authorize.handler';
import { type TenancyQueries } from '../../application/queries/tenancy.queries';
import { type SecretsHandler } from '../../application/secrets/secrets.handler';
import { type SessionsHandler } from '../../application/sessions/sessions.handler';
import { type SpacesHandler } from '../../application/spaces/spaces.handler';
import { type UsersHandler } from '../../application/users/users.handler';

export interface AuthHandlers {
  readonly authorize: AuthorizeHandler;
  readonly sessions: SessionsHandler;
  readonly users: UsersHandler;
  readonly apiTokens: ApiTokensHandler;
  readonly spaces: SpacesHandler;
  readonly secrets: SecretsHandler;
  readonly queries: TenancyQueries;
}

/** The auth service's request/reply surface: every contract mapped to its use case. */
export function registerAuthEndpoints(server: RpcServer, h: AuthHandlers): void {
  server.handle(Authorize, (req) => h.authorize.authorize(req));
  server.handle(Login, (req, meta) => h.sessions.login(req, meta));
  server.handle(Refresh, (req, meta) => h.sessions.refresh(req, meta));
  server.handle(Logout, (req, meta) => h.sessions.logout(req, meta));
  server.handle(RegisterUser, (req, meta) => h.users.register(req, meta));
  server.handle(ListUsers, (req) => h.queries.listUsers(req));
  server.handle(GetUser, (req) => h.queries.user(req.userId));
  server.handle(CreateApiToken, (req, meta) => h.apiTokens.create(req, meta));
  server.handle(ListApiTokens, (req) => h.apiTokens.list(req));
  server.handle(RevokeApiToken, (req, meta) => h.apiTokens.revoke(req, meta));
  server.handle(CreateSpace, (req, meta) => h.spaces.create(req, meta));
  server.handle(ListSpaces, (req) => h.queries.listSpaces(req));
  server.handle(GetSpace, (req) => h.queries.space(req.space));
  server.handle(UpdateSpace, (req, meta) => h.spaces.update(req, meta));
  server.handle(DeleteSpace, (req, meta) => h.spaces.delete(req, meta));
  server.handle(ListMembers, (req) => h.queries.members(req.space));
  server.handle(SetMember, (req, meta) => h.spaces.setMember(req, meta));
  server.handle(RemoveMember, (req, meta) => h.spaces.removeMember(req, meta));
  server.handle(GetQuota, (req) => h.queries.quota(req.space));
  server.handle(SetQuota, (req, meta) => h.spaces.setQuota(req, meta));
  server.handle(ListSecrets, (req) => h.queries.secrets(req.space));
  server.handle(GetSecret, (req) => h.queries.secret(req.space, req.name));
  server.handle(StoreSecret, (req, meta) => h.secrets.store(req, meta));
  server.handle(DeleteSecret, (req, meta) => h.secrets.delete(req, meta));
  server.handle(RevealSecret, (req) => h.secrets.reveal(req));
  server.handle(ListAudit, (req) => h.queries.audit(req));
}

import { Inject, Injectable } from '@nestjs/common';
import { PierError } from '@pier/contracts';
import { READ_MODEL, type TenancyReadModel } from '../ports';

/** Reads of the tenancy read model, with not-found turned into codes. */
@Injectable()
export class TenancyQueries {
  constructor(@Inject(READ_MODEL) private readonly readModel: TenancyReadModel) {}

  async user(userId: string) {
    return (await this.readModel.user(userId)) ?? notFound('USER_NOT_FOUND', `user ${userId} does not exist`);
  }

  listUsers(page: { limit: number; cursor?: string }) {
    return this.readModel.listUsers(page);
  }

  async space(name: string) {
    return (await this.readModel.space(name)) ?? notFound('SPACE_NOT_FOUND', `space ${name} does not exist`);
  }

  listSpaces(query: { memberId: string | null; limit: number; cursor?: string }) {
    return this.readModel.listSpaces(query);
  }

  async members(space: string) {
    await this.space(space);
    return { items: await this.readModel.members(space) };
  }

  async quota(space: string) {
    return (await this.space(space)).quota;
  }

  async secrets(space: string) {
    await this.space(space);
    return { items: await this.readModel.secrets(space) };
  }

  async secret(space: string, name: string) {
    return (
      (await this.readModel.secret(space, name)) ??
      notFound('SECRET_NOT_FOUND', `secret ${name} does not exist in ${space}`)
    );
  }

  audit(query: Parameters<TenancyReadModel['audit']>[0]) {
    return this.readModel.audit(query);
  }
}

function notFound(code: 'USER_NOT_FOUND' | 'SPACE_NOT_FOUND' | 'SECRET_NOT_FOUND', message: string): never {
  throw new PierError(code, message);
}

import { randomUUID } from 'node:crypto';
import { GetQuota, GetSecret, PierError, type Quota, systemActor } from '@pier/contracts';
import { type RpcClient } from '@pier/messaging';
import { type Tenancy } from '../../application/ports';

/** Quotas and secret existence, asked of the auth service. */
export class AuthTenancy implements Tenancy {
  constructor(private readonly rpc: RpcClient) {}

  quota(space: string): Promise<Quota> {
    return this.rpc.call(GetQuota, { space }, this.context());
  }

  async secretExists(space: string, name: string): Promise<boolean> {
    try {
      await this.rpc.call(GetSecret, { space, name }, this.context());
      return true;
    } catch (error) {
      if (error instanceof PierError && error.code === 'SECRET_NOT_FOUND') return false;
      throw error;
    }
  }

  private context() {
    return { actor: systemActor('scheduler'), correlationId: randomUUID() };
  }
}

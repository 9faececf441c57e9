import { randomUUID } from 'node:crypto';
import { AuthenticateNode, PierError, systemActor } from '@pier/contracts';
import { type RpcClient } from '@pier/messaging';
import { type NodeAuthenticator } from '../../application/ports';

/** Asks the clusters service whether a node credential is genuine. */
export class ClustersNodeAuthenticator implements NodeAuthenticator {
  constructor(private readonly rpc: RpcClient) {}

  async authenticate(nodeId: string, credential: string): Promise<boolean> {
    try {
      await this.rpc.call(
        AuthenticateNode,
        { nodeId, credential },
        { actor: systemActor('auth'), correlationId: randomUUID() },
      );
      return true;
    } catch (error) {
      if (
        error instanceof PierError &&
        (error.code === 'NODE_CREDENTIAL_INVALID' || error.code === 'VALIDATION_FAILED')
      )
        return false;
      throw error;
    }
  }
}

import { connect } from 'node:net';

/**
 * Sends one command to an HAProxy CLI socket (the worker's runtime API or the master CLI) and returns
 * the whole answer. Once the client has shut its side down, HAProxy answers the command line and closes
 * the connection, which marks the end of the answer.
 */
export function haproxyCommand(socketPath: string, command: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const chunks: Buffer[] = [];
    let settled = false;
    const settle = (error: Error | null) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (error) reject(error);
      else resolve(Buffer.concat(chunks).toString('utf8'));
    };
    socket.setTimeout(timeoutMs, () =>
      settle(new Error(`HAProxy did not answer "${command}" on ${socketPath} within ${timeoutMs} ms`)),
    );
    // Half-closing tells HAProxy this is the only command: it answers and closes.
    socket.on('connect', () => socket.end(`${command}\n`));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error) => settle(error));
    socket.on('close', () => settle(null));
  });
}

/** Runtime API answers that mean the command was refused. */
const REFUSED =
  /^(No such|Require |Invalid|Unknown |Permission denied|Version number|Missing |.*not (found|allowed|a number)|.*unable to|.*failed)/im;

/** Sends a runtime API command and fails when HAProxy refuses it. */
export async function runtimeCommand(
  socketPath: string,
  command: string,
  timeoutMs?: number,
): Promise<string> {
  const answer = await haproxyCommand(socketPath, command, timeoutMs);
  if (REFUSED.test(answer)) throw new Error(`HAProxy refused "${command}": ${answer.trim()}`);
  return answer;
}

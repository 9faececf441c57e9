import { connect, type Socket } from 'node:net';

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

/** What interactive mode prints after each answer. */
const PROMPT = '\n> ';
/** What it prints for each line of a command's payload (`<<`) before the answer. */
const PAYLOAD_PROMPTS = /^(\+ )+/;

/**
 * One connection to an HAProxy runtime API socket in interactive mode (`prompt`): commands go one after
 * another on it, each answered up to the next prompt, instead of a connection each (about a millisecond
 * apiece, and a change of routes sends several). Any failure (an error, a timeout, HAProxy closing the
 * connection) fails the session: the caller starts again from a state it knows.
 */
export class RuntimeSession {
  private received = '';
  private waiting?: { resolve(answer: string): void; reject(error: Error): void; timer: NodeJS.Timeout };
  private failure?: Error;

  private constructor(
    private readonly socket: Socket,
    private readonly socketPath: string,
    private readonly timeoutMs: number,
  ) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () =>
      this.fail(new Error(`HAProxy closed the runtime API connection on ${socketPath}`)),
    );
  }

  /** Connects and turns interactive mode on; `timeoutMs` bounds the connection and each answer. */
  static async open(socketPath: string, timeoutMs = 5000): Promise<RuntimeSession> {
    const session = new RuntimeSession(connect(socketPath), socketPath, timeoutMs);
    await session.send('prompt');
    return session;
  }

  /** Sends a command and resolves to its answer; fails when HAProxy refuses it. */
  async command(command: string): Promise<string> {
    const answer = await this.send(command);
    if (REFUSED.test(answer)) throw new Error(`HAProxy refused "${firstLine(command)}": ${answer.trim()}`);
    return answer;
  }

  close(): void {
    this.failure ??= new Error('runtime API session closed');
    this.socket.destroy();
  }

  private send(command: string): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          this.fail(
            new Error(
              `HAProxy did not answer "${firstLine(command)}" on ${this.socketPath} within ${this.timeoutMs} ms`,
            ),
          ),
        this.timeoutMs,
      );
      this.waiting = { resolve, reject, timer };
      this.socket.write(`${command}\n`);
    });
  }

  private receive(chunk: Buffer): void {
    this.received += chunk.toString('utf8');
    // The answers of the commands sent here never hold a prompt of their own.
    if (!this.waiting || !this.received.endsWith(PROMPT)) return;
    const answer = this.received.slice(0, -PROMPT.length).replace(PAYLOAD_PROMPTS, '');
    this.received = '';
    const { resolve, timer } = this.waiting;
    this.waiting = undefined;
    clearTimeout(timer);
    resolve(answer);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.socket.destroy();
    const waiting = this.waiting;
    this.waiting = undefined;
    if (!waiting) return;
    clearTimeout(waiting.timer);
    waiting.reject(error);
  }
}

function firstLine(command: string): string {
  const newline = command.indexOf('\n');
  return newline < 0 ? command : `${command.slice(0, newline)} …`;
}

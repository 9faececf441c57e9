import type Docker from 'dockerode';
import { Writable } from 'node:stream';
import { type ExecResult } from '../../application/ports';

const MAX_OUTPUT = 4096;

/**
 * Runs a command in a container; gives up waiting after `timeoutMs` (Docker cannot kill an exec). What
 * the engine refuses (an empty command, NUL in an argument, a program that does not exist) comes back as
 * a rejection with the engine's reason or as exit code 126/127, never as an error event left unhandled.
 */
export async function execIn(
  docker: Docker,
  containerId: string,
  command: readonly string[],
  timeoutMs: number,
): Promise<ExecResult> {
  if (command.length === 0) throw new Error('no command to run');
  const exec = await docker.getContainer(containerId).exec({
    Cmd: [...command],
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = await exec.start({ hijack: true, stdin: false });
  let output = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (output.length < MAX_OUTPUT) output += chunk.toString('utf8').slice(0, MAX_OUTPUT - output.length);
      done();
    },
  });
  // Errors of either stream after the exchange (a reset connection, a frame the demuxer cannot read) have
  // nothing left to affect, but an error event without a listener would end the process.
  sink.on('error', () => undefined);
  let timer: NodeJS.Timeout | undefined;
  const ended = await Promise.race([
    new Promise<boolean>((resolve) => {
      stream.on('error', () => resolve(true));
      stream.once('end', () => resolve(true));
      stream.once('close', () => resolve(true));
      docker.modem.demuxStream(stream, sink, sink);
    }),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (!ended) {
    stream.destroy();
    return { exitCode: null, output: output.trim() };
  }
  // The output ends a moment before the engine records the exit code.
  for (let attempt = 0; ; attempt++) {
    const info = await exec.inspect();
    if (!info.Running || attempt >= 20) {
      return { exitCode: info.Running ? null : (info.ExitCode ?? null), output: output.trim() };
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Polls `probe` until it stops throwing (an `expect` inside it passes) or the deadline passes, then
 * rethrows the last failure with how long it waited. Use it instead of sleeping.
 */
export async function expectEventually<T>(
  probe: () => T | Promise<T>,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 50;
  const started = Date.now();
  let lastError: unknown;
  for (;;) {
    try {
      return await probe();
    } catch (error) {
      lastError = error;
    }
    if (Date.now() - started >= timeoutMs) break;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const message = lastError instanceof Error ? lastError.message : String(lastError);
  const failure = new Error(
    `${options.what ? `${options.what}: ` : ''}still failing after ${Date.now() - started} ms:\n${message}`,
  );
  if (lastError instanceof Error && lastError.stack) failure.stack = `${failure.message}\n${lastError.stack}`;
  throw failure;
}

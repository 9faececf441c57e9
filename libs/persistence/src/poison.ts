/**
 * Whether applying an event failed in a way that will fail the same way every time: Postgres refused
 * the data itself (SQLSTATE class 22, data exception: a NUL in text, an invalid number, a value too
 * long…; class 23, integrity constraint violation). Such an event is parked at once — retrying it only
 * holds up every event behind it, whoever they belong to. Anything else (a lost connection, a deadlock,
 * a timeout) may pass on a retry.
 */
export function isPoisonError(error: unknown): boolean {
  const code =
    (error as { code?: unknown; driverError?: { code?: unknown } } | null | undefined)?.code ??
    (error as { driverError?: { code?: unknown } } | null | undefined)?.driverError?.code;
  return typeof code === 'string' && /^(22|23)[0-9A-Z]{3}$/.test(code);
}

/**
 * Answers to "who is this credential, and what may they do in this space", kept for reuse so that a
 * request does not ask the auth service again. Correct only with its invalidation: the owner calls
 * `invalidate` whenever the auth service says the tenancy changed (and when it may have missed such a
 * word), and an answer is never kept past the credential's own expiry nor past `ttlMs`.
 *
 * A call that asks takes a `ticket` first and hands it to `put`: an answer is kept only when nothing
 * was invalidated in between, so an answer read before a revocation can never outlive its word.
 */
export class AuthorizationCache<T> {
  private readonly entries = new Map<string, { readonly value: T; readonly until: number }>();
  private generation = 0;

  constructor(
    private readonly options: { readonly ttlMs: number; readonly maxEntries: number },
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Taken before asking; see `put`. */
  ticket(): number {
    return this.generation;
  }

  /** Keeps `value` until `validUntil` (epoch ms) or the TTL, unless anything was invalidated since `ticket`. */
  put(key: string, value: T, validUntil: number, ticket: number): void {
    if (ticket !== this.generation || this.options.ttlMs <= 0) return;
    const now = this.now();
    const until = Math.min(validUntil, now + this.options.ttlMs);
    if (!(until > now)) return;
    this.entries.delete(key);
    // Oldest first out: a Map iterates in insertion order.
    while (this.entries.size >= this.options.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, until });
  }

  /** Forgets every answer, and every answer still being asked for. */
  invalidate(): void {
    this.generation++;
    this.entries.clear();
  }
}

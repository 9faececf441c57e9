import { storedVersionSpecSchema, type VersionSpec } from '@pier/contracts';

export type RunnableSpec =
  { readonly ok: true; readonly spec: VersionSpec } | { readonly ok: false; readonly reason: string };

/**
 * The spec of an assignment as this agent runs it. The agent takes every spec that was ever accepted
 * (`storedVersionSpecSchema`, looser than what the API accepts today): a spec stored before the precise
 * rules still runs, and what it holds that cannot work (a path Node will not send, an argument the kernel
 * will not pass) fails where it is used, as a probe or start failure of that instance. A spec the agent
 * cannot read at all is refused whole, with every problem named, rather than run in part.
 */
export function runnableSpec(spec: unknown): RunnableSpec {
  const parsed = storedVersionSpecSchema.safeParse(spec);
  if (parsed.success) return { ok: true, spec: parsed.data };
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'spec'}: ${i.message}`);
  return { ok: false, reason: `this agent cannot run the spec: ${problems.join('; ')}` };
}

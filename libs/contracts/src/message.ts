import { z } from 'zod';
import { type Metadata, metadataSchema } from './metadata';

/** A message as it travels: plain data, discriminated by `type`. */
export interface Message<TType extends string = string, TData = unknown> {
  readonly type: TType;
  readonly data: TData;
  readonly metadata: Metadata;
}

/** The wire shape of any message before its `data` is parsed for its type and version. */
export const rawMessageSchema = z.object({
  type: z.string().min(1),
  data: z.unknown(),
  metadata: metadataSchema,
});
export type RawMessage = z.infer<typeof rawMessageSchema>;

/** An upcaster turns the data of version `n` into the data of version `n + 1`. */
export type Upcaster = (data: unknown) => unknown;

/**
 * Definition of one message type at its current schema version. `upcasters[n]` lifts data written at
 * version `n` to version `n + 1`; a published version never changes shape, a new one is added instead.
 */
export interface MessageDefinition<TType extends string = string, TSchema extends z.ZodType = z.ZodType> {
  readonly type: TType;
  readonly schemaVersion: number;
  readonly schema: TSchema;
  readonly upcasters: Readonly<Record<number, Upcaster>>;
}

export function defineMessage<TType extends string, TSchema extends z.ZodType>(
  type: TType,
  schema: TSchema,
  options: { schemaVersion?: number; upcasters?: Record<number, Upcaster> } = {},
): MessageDefinition<TType, TSchema> {
  const schemaVersion = options.schemaVersion ?? 1;
  const upcasters = options.upcasters ?? {};
  for (let v = 1; v < schemaVersion; v++) {
    if (!upcasters[v]) throw new Error(`${type}: missing upcaster from version ${v} to ${v + 1}`);
  }
  return { type, schemaVersion, schema, upcasters };
}

/** The message type produced by a definition. */
export type MessageOf<D> = D extends MessageDefinition<infer T, infer S> ? Message<T, z.infer<S>> : never;

/** Thrown when a stored or received message cannot be understood. */
export class MessageParseError extends Error {
  constructor(
    message: string,
    readonly issues?: unknown,
  ) {
    super(message);
    this.name = 'MessageParseError';
  }
}

/** The message that caused a new one: its id, correlation and actor carry over. */
export interface Cause {
  readonly messageId: string;
  readonly correlationId: string;
  readonly actor: Metadata['actor'];
}

/**
 * Builds a message caused by `cause`. Its id is derived from the cause's id, the message type and
 * `index`, so re-deciding the same command yields the same ids and the event store drops repeats,
 * while distinct messages of one command never collide.
 */
export function createMessage<D extends MessageDefinition>(
  definition: D,
  data: z.input<D['schema']>,
  cause: Cause,
  occurredAt: string,
  index = 0,
): MessageOf<D> {
  return {
    type: definition.type,
    data,
    metadata: {
      messageId: `${cause.messageId}/${definition.type}/${index}`,
      correlationId: cause.correlationId,
      causationId: cause.messageId,
      occurredAt,
      actor: cause.actor,
      schemaVersion: definition.schemaVersion,
    },
  } as unknown as MessageOf<D>;
}

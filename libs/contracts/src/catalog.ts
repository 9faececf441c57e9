import { type Message, type MessageDefinition, MessageParseError, rawMessageSchema } from './message';

/**
 * A closed set of message definitions. `parse` reads any stored version of a message: it applies the
 * upcasters from the stored `schemaVersion` up to the current one, then validates the current schema.
 */
export class MessageCatalog<TMessage extends Message> {
  private readonly byType = new Map<string, MessageDefinition>();

  constructor(definitions: readonly MessageDefinition[]) {
    for (const d of definitions) {
      if (this.byType.has(d.type)) throw new Error(`duplicate message type ${d.type}`);
      this.byType.set(d.type, d);
    }
  }

  has(type: string): boolean {
    return this.byType.has(type);
  }

  /** The current schema version of a type, stamped on new messages of that type. */
  versionOf(type: TMessage['type']): number {
    const d = this.byType.get(type);
    if (!d) throw new MessageParseError(`unknown message type ${type}`);
    return d.schemaVersion;
  }

  parse(raw: unknown): TMessage {
    const envelope = rawMessageSchema.safeParse(raw);
    if (!envelope.success) throw new MessageParseError('malformed message envelope', envelope.error.issues);
    const { type, metadata } = envelope.data;
    const d = this.byType.get(type);
    if (!d) throw new MessageParseError(`unknown message type ${type}`);
    if (metadata.schemaVersion > d.schemaVersion) {
      throw new MessageParseError(
        `${type} v${metadata.schemaVersion} is newer than the known v${d.schemaVersion}`,
      );
    }
    let data = envelope.data.data;
    for (let v = metadata.schemaVersion; v < d.schemaVersion; v++) data = d.upcasters[v]!(data);
    const parsed = d.schema.safeParse(data);
    if (!parsed.success) throw new MessageParseError(`invalid ${type} data`, parsed.error.issues);
    return {
      type,
      data: parsed.data,
      metadata: { ...metadata, schemaVersion: d.schemaVersion },
    } as unknown as TMessage;
  }

  /** Serialises a message for the wire, after checking its data against the current schema. */
  serialize(message: TMessage): Uint8Array {
    const d = this.byType.get(message.type);
    if (!d) throw new MessageParseError(`unknown message type ${message.type}`);
    const parsed = d.schema.safeParse(message.data);
    if (!parsed.success) throw new MessageParseError(`invalid ${message.type} data`, parsed.error.issues);
    return new TextEncoder().encode(
      JSON.stringify({
        type: message.type,
        data: parsed.data,
        metadata: { ...message.metadata, schemaVersion: d.schemaVersion },
      }),
    );
  }
}

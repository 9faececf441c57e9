import { z } from 'zod';

/** Who caused a message: a person, a node agent, a platform service or the system itself. */
export const actorSchema = z.object({
  kind: z.enum(['user', 'token', 'node', 'service', 'system', 'anonymous']),
  id: z.string().min(1).max(200),
});
export type Actor = z.infer<typeof actorSchema>;

/**
 * Metadata carried by every command and event.
 * - `messageId` is unique per message and doubles as the JetStream de-duplication id.
 * - `correlationId` ties every message of one user intent together (the HTTP request id).
 * - `causationId` is the `messageId` of the message that caused this one.
 * - `schemaVersion` is the version of the `data` shape, used for upcasting.
 */
export const metadataSchema = z.object({
  messageId: z.string().min(1).max(200),
  correlationId: z.string().min(1).max(200),
  causationId: z.string().min(1).max(200),
  occurredAt: z.iso.datetime({ offset: true }),
  actor: actorSchema,
  schemaVersion: z.number().int().positive(),
});
export type Metadata = z.infer<typeof metadataSchema>;

/** The system actor, for decisions the platform takes on its own (a node declared lost). */
export const systemActor = (service: string): Actor => ({ kind: 'service', id: service });

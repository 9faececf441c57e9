import { createMessage, defineMessage, MessageCatalog, type MessageOf } from '@pier/contracts';
import { z } from 'zod';

export const Incremented = defineMessage(
  'Incremented',
  z.object({ counterId: z.string(), by: z.number().int() }),
);
export type Incremented = MessageOf<typeof Incremented>;
export const catalog = new MessageCatalog<Incremented>([Incremented]);

let n = 0;
export function incremented(
  counterId: string,
  by = 1,
  messageId = `m-${process.pid}-${Date.now()}-${n++}`,
): Incremented {
  return createMessage(
    Incremented,
    { counterId, by },
    { messageId, correlationId: 'c-1', actor: { kind: 'system', id: 'test' } },
    new Date().toISOString(),
  );
}

import { z } from 'zod';

/** A DNS label: lowercase letters, digits and inner hyphens, 1 to 63 characters. */
export const dnsLabelSchema = z
  .string()
  .regex(
    /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
    'must be a DNS label: a-z, 0-9 and inner "-", 1 to 63 characters',
  );

export const idSchema = z.uuid();

export const labelKeySchema = z
  .string()
  .regex(
    /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$/,
    'label keys are 1 to 63 characters of A-Z, a-z, 0-9, ".", "_", "/", "-", starting and ending alphanumeric',
  );
export const labelValueSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]{0,63}$/, 'label values are up to 63 characters of A-Z, a-z, 0-9, ".", "_", "-"');

export const labelsSchema = z
  .record(labelKeySchema, labelValueSchema)
  .refine((labels) => Object.keys(labels).length <= 64, 'at most 64 labels');
export type Labels = z.infer<typeof labelsSchema>;

export const zoneSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/,
    'zones are 1 to 63 characters of A-Z, a-z, 0-9, ".", "_", "-"',
  );

/** Node capacity as the scheduler counts it. */
export const capacitySchema = z.object({
  cpuMillicores: z.number().int().positive(),
  memoryMiB: z.number().int().positive(),
});
export type Capacity = z.infer<typeof capacitySchema>;

/** What the agent learned from its container engine. */
export const engineSchema = z.object({
  driver: z.string().min(1).max(50),
  version: z.string().max(100),
  os: z.string().max(200),
  arch: z.string().max(50),
  kernel: z.string().max(200),
});
export type Engine = z.infer<typeof engineSchema>;

export const isoDateTime = z.iso.datetime({ offset: true });

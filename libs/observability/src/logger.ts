import { trace } from '@opentelemetry/api';
import pino, { type Logger } from 'pino';

export type { Logger };

/** Field names whose values are never written to a log line. */
const REDACTED = [
  'password',
  'token',
  'secret',
  'credential',
  'authorization',
  '*.password',
  '*.token',
  '*.secret',
  '*.credential',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
];

/**
 * JSON logs on stdout, one line per record, with the active trace and span ids so a log line can be
 * found from its trace and the other way round.
 */
export function createLogger(service: string, level = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      mixin() {
        const span = trace.getActiveSpan();
        if (!span) return {};
        const { traceId, spanId } = span.spanContext();
        return { trace_id: traceId, span_id: spanId };
      },
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

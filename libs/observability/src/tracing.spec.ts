import { context, propagation, trace } from '@opentelemetry/api';
import { activeTraceId, initTelemetry, injectTraceContext, inSpan } from './tracing';

describe('tracing without an exporter', () => {
  const telemetry = initTelemetry({ serviceName: 'unexported' });

  afterAll(async () => {
    await telemetry.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
  });

  it('records nothing, yet gives every span its ids and carries the trace to the next hop', async () => {
    const headers = new Map<string, string>();
    const carrier = {
      get: (k: string) => headers.get(k),
      set: (k: string, v: string) => void headers.set(k, v),
    };
    await inSpan('outer', {}, async (outer) => {
      expect(outer.isRecording()).toBe(false);
      expect(outer.spanContext().traceId).toMatch(/^(?!0+$)[0-9a-f]{32}$/);
      expect(activeTraceId()).toBe(outer.spanContext().traceId);
      await inSpan('inner', {}, async (inner) => {
        expect(inner.spanContext().traceId).toBe(outer.spanContext().traceId);
        expect(inner.spanContext().spanId).not.toBe(outer.spanContext().spanId);
        injectTraceContext(carrier);
      });
    });
    expect(headers.get('traceparent')).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  });
});

import { Writable } from 'node:stream';
import { createLogger } from './logger';
import { initTestTelemetry, inSpan } from './tracing';

describe('logs', () => {
  const telemetry = initTestTelemetry();
  afterAll(() => telemetry.shutdown());

  function capture() {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    return { lines, logger: createLogger('svc', 'info', stream) };
  }

  it('carry the trace and span id of the active span', async () => {
    const { lines, logger } = capture();
    let traceId = '';
    await inSpan('work', {}, async (span) => {
      traceId = span.spanContext().traceId;
      logger.info('inside');
    });
    logger.info('outside');
    expect(lines[0]).toMatchObject({ service: 'svc', level: 'info', msg: 'inside', trace_id: traceId });
    expect(lines[1]).not.toHaveProperty('trace_id');
  });

  it('never write secrets', () => {
    const { lines, logger } = capture();
    logger.info(
      { password: 'hunter2', token: 't0k3n', request: { credential: 'c', authorization: 'Bearer x' } },
      'login',
    );
    expect(JSON.stringify(lines)).not.toMatch(/hunter2|t0k3n|"c"|Bearer x/);
  });
});

import { createServer, type IncomingMessage } from 'node:http';
import { type AddressInfo } from 'node:net';
import { initTelemetry, inSpan } from '../src';

describe('OTLP export', () => {
  it('sends spans to OTEL_EXPORTER_OTLP_ENDPOINT over HTTP', async () => {
    const received: { url: string; body: string }[] = [];
    const server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('latin1')));
      req.on('end', () => {
        received.push({ url: req.url ?? '', body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const telemetry = initTelemetry({ serviceName: 'pier-test', otlpEndpoint: endpoint });
    await inSpan('exported-span-name', {}, async () => undefined);
    await telemetry.shutdown(); // flushes the batch
    server.close();
    expect(received.map((r) => r.url)).toContain('/v1/traces');
    expect(received.map((r) => r.body).join('')).toContain('exported-span-name');
  });
});

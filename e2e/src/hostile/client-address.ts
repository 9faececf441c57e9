import { request } from 'node:http';

/**
 * An API call sent from a given local address (any of 127.0.0.0/8 reaches the gateway on 127.0.0.1),
 * so one test machine can stand for several clients: the gateway sees each as its own address.
 */
export function callFrom<T = unknown>(
  address: string,
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: T; headers: Record<string, string | string[] | undefined> }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        localAddress: address,
        headers: payload === undefined ? headers : { 'content-type': 'application/json', ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed as T, headers: res.headers });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Logs in from `address`; answers the status, the error code and the Retry-After header. */
export async function loginFrom(
  api: string,
  address: string,
  email: string,
  password: string,
): Promise<{ status: number; code: string | null; retryAfter: number | null; accessToken: string | null }> {
  const reply = await callFrom<{ accessToken?: string; error?: { code: string } }>(
    address,
    'POST',
    `${api}/auth/login`,
    { email, password },
  );
  const retryAfter = reply.headers['retry-after'];
  return {
    status: reply.status,
    code: reply.body?.error?.code ?? null,
    retryAfter: typeof retryAfter === 'string' ? Number(retryAfter) : null,
    accessToken: reply.body?.accessToken ?? null,
  };
}

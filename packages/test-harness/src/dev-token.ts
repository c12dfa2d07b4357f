/**
 * A token from a gateway running in development mode (`GET /dev/token`), so benchmarks and
 * tests need neither the gateway's code nor its development secret. `gatewayUrl` is the
 * gateway's WebSocket or HTTP URL; `query` picks the principal (staff by default).
 */
export async function devToken(gatewayUrl: string, query = 'role=staff'): Promise<string> {
  const url = new URL(gatewayUrl);
  url.protocol = url.protocol === 'wss:' ? 'https:' : url.protocol === 'ws:' ? 'http:' : url.protocol;
  url.pathname = '/dev/token';
  url.search = query;
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url.host} gave no development token: HTTP ${response.status}`);
  const body = (await response.json()) as { token?: unknown };
  if (typeof body.token !== 'string') throw new Error(`${url.host} answered /dev/token without a token`);
  return body.token;
}

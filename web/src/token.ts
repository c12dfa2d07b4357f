/**
 * Tokens for the gateways. With a configured token URL that is the only source; otherwise
 * each gateway's development endpoint is tried, so the page works with whichever one is up.
 * A token is reused until shortly before it expires: reconnect storms must not become
 * token-request storms.
 *
 * Without a token the page still tries to connect: a gateway that needs one refuses the
 * upgrade and the client backs off, and one without authentication simply accepts. Failing
 * here instead would make a missing token endpoint look like a dead gateway.
 */
export type TokenSource = () => Promise<string>;

const FETCH_TIMEOUT_MS = 3000;
/** After a failed fetch, connect without a token for a while instead of asking again at once. */
const RETRY_AFTER_MS = 5000;
/** Refresh this long before `exp`, so a token never expires between fetch and upgrade. */
const EXPIRY_MARGIN_MS = 30_000;

export function createTokenSource(gatewayUrls: readonly string[], tokenUrl: string | undefined): TokenSource {
  const candidates = tokenUrl !== undefined ? [tokenUrl] : gatewayUrls.map(devTokenUrl);
  let cached: { token: string; expiresAt: number } | undefined;
  let preferred = 0;
  let failedAt = Number.NEGATIVE_INFINITY;

  return async () => {
    const now = Date.now();
    if (cached !== undefined && cached.expiresAt > now + EXPIRY_MARGIN_MS) return cached.token;
    if (now - failedAt < RETRY_AFTER_MS) return '';
    for (let i = 0; i < candidates.length; i++) {
      const index = (preferred + i) % candidates.length;
      try {
        const token = await fetchToken(candidates[index] ?? '');
        preferred = index;
        cached = { token, expiresAt: expiryOf(token) };
        return token;
      } catch {
        // Next candidate; the gateway's answer to the upgrade is the error worth showing.
      }
    }
    failedAt = now;
    return '';
  };
}

async function fetchToken(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return readToken(await response.text());
}

/** ws://host:port/ws → http://host:port/dev/token */
export function devTokenUrl(gatewayUrl: string): string {
  const url = new URL(gatewayUrl);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  url.pathname = '/dev/token';
  url.search = '';
  return url.toString();
}

/** Accepts `{"token": "…"}` or the bare token, so either endpoint style works. */
function readToken(body: string): string {
  const text = body.trim();
  if (text.startsWith('{')) {
    const parsed: unknown = JSON.parse(text);
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      'token' in parsed &&
      typeof parsed.token === 'string'
    ) {
      return parsed.token;
    }
    throw new Error('token response has no "token" field');
  }
  if (text === '') throw new Error('empty token response');
  return text;
}

/** Reads `exp` from a JWT without verifying it (the gateway does that); unknown means one minute. */
function expiryOf(token: string): number {
  const fallback = Date.now() + 60_000;
  const payload = token.split('.')[1];
  if (payload === undefined) return fallback;
  try {
    const json: unknown = JSON.parse(atob(payload.replaceAll('-', '+').replaceAll('_', '/')));
    if (typeof json === 'object' && json !== null && 'exp' in json && typeof json.exp === 'number') {
      return json.exp * 1000;
    }
  } catch {
    // Not a JWT we can read; the fallback only means fetching a little more often.
  }
  return fallback;
}

/** Error codes of wire protocol v1 (`error` frames and close reasons). */
export const errorCodes = [
  'bad_request',
  'unauthorized',
  'forbidden',
  'too_large',
  'rate_limited',
  'slow_consumer',
  'internal',
] as const;
export type ErrorCode = (typeof errorCodes)[number];

export interface ErrorPolicy {
  /** HTTP status when the error refuses an upgrade. */
  http: 400 | 401 | 403 | 413 | 429 | 500 | 503;
  /** WebSocket close code when the error ends a connection rather than one request. */
  close: number;
}

/**
 * The one place mapping codes to statuses; no default branch, so a new code does not
 * compile until it has a policy.
 */
export function errorPolicy(code: ErrorCode): ErrorPolicy {
  switch (code) {
    case 'bad_request':
      return { http: 400, close: 1008 };
    case 'unauthorized':
      return { http: 401, close: 4401 };
    case 'forbidden':
      return { http: 403, close: 4403 };
    case 'too_large':
      return { http: 413, close: 1009 };
    case 'rate_limited':
      return { http: 429, close: 4429 };
    case 'slow_consumer':
      return { http: 503, close: 4008 };
    case 'internal':
      return { http: 500, close: 1011 };
  }
}

/** Close codes the gateway uses on its own initiative; clients reconnect after each. */
export const closeCodes = {
  /** The gateway is shutting down (SIGTERM); reconnect, preferably elsewhere. */
  serviceRestart: 1012,
  goingAway: 1001,
  /** The socket's token expired (past `exp` plus leeway); reconnect with a fresh token. */
  tokenExpired: 4401,
} as const;

import { z } from 'zod';
import type { Principal } from './principal.ts';

/** Shortest accepted HS256 secret: below 256 bits the key is weaker than the hash. */
export const MIN_SECRET_LENGTH = 32;

/** Clock difference tolerated between the token issuer and the gateway. @default 30 s */
export const DEFAULT_LEEWAY_S = 30;

export interface VerifyOptions {
  /** Seconds of clock skew forgiven on `exp`, `nbf` and `iat`. @default DEFAULT_LEEWAY_S */
  leewayS?: number;
  /** When set, `aud` (a string or an array of strings) must contain it. */
  audience?: string;
  /** When set, `iss` must equal it. */
  issuer?: string;
  /** Current time in seconds; tests pin it. @default the wall clock */
  nowS?: number;
}

/**
 * Says whether `signature` is the HMAC-SHA256 of `signingInput` (a token's `header.payload`)
 * under the gateway's secret, comparing in constant time. Synchronous where the runtime has a
 * synchronous HMAC (Node: see `node-hs256.ts`), a promise through WebCrypto elsewhere.
 */
export type Hs256Check = (
  signingInput: string,
  signature: Uint8Array<ArrayBuffer>,
) => boolean | Promise<boolean>;

/**
 * The HS256 check through WebCrypto, which every runtime has. The key is imported once:
 * importing is most of the cost of a single verification. Each check is a promise (and, in
 * Node, a thread-pool job); Node's wiring uses the synchronous `nodeHs256` instead.
 */
export function webCryptoHs256(secret: string): Hs256Check {
  const key = crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['verify'],
  );
  return async (signingInput, signature) =>
    crypto.subtle.verify('HMAC', await key, signature, new TextEncoder().encode(signingInput));
}

const time = z.number().finite();

const claimsSchema = z.discriminatedUnion('role', [
  z.object({
    role: z.literal('staff'),
    sub: z.string().min(1).max(200).optional(),
    exp: time,
    nbf: time.optional(),
    iat: time.optional(),
  }),
  z.object({
    role: z.literal('customer'),
    customer: z.string().min(1).max(200),
    exp: time,
    nbf: time.optional(),
    iat: time.optional(),
  }),
]);

export type VerifyResult =
  | { ok: true; principal: Principal /** The token's `exp`, seconds since the epoch. */; exp: number }
  | { ok: false; reason: string };

const refused = (reason: string): VerifyResult => ({ ok: false, reason });

/** HMAC-SHA256 output length: a signature of any other length cannot match. */
const SIGNATURE_BYTES = 32;

/**
 * Verifies an HS256 token and reads its claims. The algorithm is pinned, so `alg: none` and
 * algorithm-confusion tokens fail the header check; the signature is checked before anything
 * in the payload is believed; `exp` is required because a token that never expires cannot be
 * withdrawn; `nbf`, `iat` and `exp` are forgiven `leewayS` of clock skew, so a gateway whose
 * clock runs a few seconds behind the issuer's still takes fresh tokens.
 *
 * Synchronous when `check` is (no promise, no thread-pool job per socket), else a promise.
 */
export function verifyToken(
  token: string,
  check: Hs256Check,
  options: VerifyOptions = {},
): VerifyResult | Promise<VerifyResult> {
  const parts = token.split('.');
  if (parts.length !== 3) return refused('malformed');
  const [header, payload, signature] = parts as [string, string, string];
  const head = decodeJson(header);
  if (!isRecord(head)) return refused('malformed header');
  if (head.alg !== 'HS256') return refused('algorithm');
  if (head.typ !== undefined && head.typ !== 'JWT') return refused('type');
  const mac = decodeBase64Url(signature);
  if (mac === undefined || mac.length !== SIGNATURE_BYTES) return refused('signature');
  const signed = check(`${header}.${payload}`, mac);
  return typeof signed === 'boolean'
    ? afterSignature(signed, payload, options)
    : signed.then((valid) => afterSignature(valid, payload, options));
}

function afterSignature(valid: boolean, payload: string, options: VerifyOptions): VerifyResult {
  if (!valid) return refused('signature');
  const body = decodeJson(payload);
  if (!isRecord(body)) return refused('malformed payload');
  if (options.audience !== undefined) {
    const aud = body.aud;
    const listed = Array.isArray(aud) ? aud.includes(options.audience) : aud === options.audience;
    if (!listed) return refused('audience');
  }
  if (options.issuer !== undefined && body.iss !== options.issuer) return refused('issuer');
  const claims = claimsSchema.safeParse(body);
  if (!claims.success) return refused('claims');
  const { data } = claims;
  const now = options.nowS ?? Date.now() / 1000;
  const leeway = options.leewayS ?? DEFAULT_LEEWAY_S;
  if (data.exp + leeway <= now) return refused('expired');
  if (data.nbf !== undefined && data.nbf - leeway > now) return refused('not yet valid');
  if (data.iat !== undefined && data.iat - leeway > now) return refused('issued in the future');
  return {
    ok: true,
    principal:
      data.role === 'customer'
        ? { role: 'customer', customer: data.customer }
        : data.sub === undefined
          ? { role: 'staff' }
          : { role: 'staff', sub: data.sub },
    exp: data.exp,
  };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Unpadded base64url (RFC 7515) to bytes; undefined for anything else. */
function decodeBase64Url(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!BASE64URL.test(text) || text.length % 4 === 1) return undefined;
  let binary: string;
  try {
    binary = atob(text.replaceAll('-', '+').replaceAll('_', '/'));
  } catch {
    return undefined;
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** A base64url segment holding UTF-8 JSON; undefined when it is not one. */
function decodeJson(text: string): unknown {
  const bytes = decodeBase64Url(text);
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(utf8.decode(bytes));
  } catch {
    return undefined;
  }
}

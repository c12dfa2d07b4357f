import { z } from 'zod';
import { strongSecret } from './auth/secret-strength.ts';
import { MIN_SECRET_LENGTH } from './auth/verify-token.ts';

/** Settings of the development token issuer (dev-token-issuer.ts), validated at start-up. */
export const issuerEnvSchema = z.object({
  /**
   * The development HS256 key, shared only with gateways in development mode (production
   * gateways refuse to start with it), so its tokens are never valid in production.
   */
  DEV_JWT_SECRET: strongSecret('DEV_JWT_SECRET', MIN_SECRET_LENGTH),
  /** Production's key, read only to refuse it: this issuer never signs with JWT_SECRET. */
  JWT_SECRET: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === '', {
      message:
        'JWT_SECRET is set: the development token issuer never holds the production key; give it DEV_JWT_SECRET only',
    }),
  /** Origins whose pages may fetch a token (CORS); comma-separated. */
  ALLOWED_ORIGINS: z
    .string()
    .min(1)
    .transform((v) =>
      v
        .split(',')
        .map((o) => o.trim())
        .filter((o) => o !== ''),
    ),
  PORT: z.coerce.number().int().min(0).max(65535).default(8090),
  /** Loopback unless told otherwise; a container sets 0.0.0.0 and publishes on host loopback. */
  HOST: z.string().default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type DevTokenIssuerEnv = z.infer<typeof issuerEnvSchema>;

export function loadDevTokenIssuerEnv(
  source: Record<string, string | undefined> = process.env,
): DevTokenIssuerEnv {
  const parsed = issuerEnvSchema.safeParse(source);
  if (!parsed.success)
    throw new Error(`invalid dev token issuer environment: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

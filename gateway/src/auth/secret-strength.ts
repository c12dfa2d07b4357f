import { z } from 'zod';

/**
 * Whether a configured secret is one an attacker could know or guess. Nothing can measure the
 * randomness of a single string, so this refuses what is certainly weak and leaves the rest to
 * how the secret was made (`openssl rand -hex 32`):
 *
 * - a placeholder: the text, lower-cased and stripped of everything but letters and digits,
 *   contains one of {@link PLACEHOLDERS} (`change-me-to-…` from `.env.example`, `CHANGE_ME`,
 *   `replace me`, …);
 * - a repeated chunk (`abcabcabc…`, `ssss…`);
 * - too few distinct characters: fewer than one per four characters, up to 8 (a random hex
 *   string of 32 characters has fewer than 8 about once in 30 million).
 *
 * Length is checked by each variable's own minimum before this runs.
 */
export const PLACEHOLDERS = ['changeme', 'changethis', 'replaceme', 'placeholder', 'yoursecret'] as const;

/** Most distinct characters asked of a secret; see {@link secretWeakness}. */
const MAX_DISTINCT_ASKED = 8;

/** Why `secret` is weak, in words that follow the variable's name; undefined when it is not. */
export function secretWeakness(secret: string): string | undefined {
  const letters = secret.toLowerCase().replace(/[^a-z0-9]/g, '');
  const placeholder = PLACEHOLDERS.find((p) => letters.includes(p));
  if (placeholder !== undefined) return `is a placeholder (it contains "${placeholder}")`;
  if (isRepetition(secret)) return 'is one short chunk repeated';
  const distinct = new Set(secret).size;
  const asked = Math.min(MAX_DISTINCT_ASKED, Math.floor(secret.length / 4));
  if (distinct < asked) return `has only ${distinct} distinct characters (at least ${asked} expected)`;
  return undefined;
}

/** True when `s` is a shorter string written out two or more times. */
function isRepetition(s: string): boolean {
  return s.length > 1 && (s + s).indexOf(s, 1) < s.length;
}

/** The advice every refusal ends with. */
export const SECRET_ADVICE = 'use a random value, e.g. the output of `openssl rand -hex 32`';

/** A secret variable of at least `minLength` characters that {@link secretWeakness} accepts. */
export function strongSecret(name: string, minLength: number) {
  return z
    .string()
    .min(minLength, `${name} must be at least ${minLength} characters`)
    .superRefine((value, ctx) => {
      const weakness = secretWeakness(value);
      if (weakness !== undefined)
        ctx.addIssue({ code: 'custom', message: `${name} ${weakness}; ${SECRET_ADVICE}` });
    });
}

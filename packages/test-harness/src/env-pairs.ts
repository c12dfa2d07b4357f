/**
 * `KEY=value` command-line arguments (a benchmark's `--env`) as an environment for a process
 * it spawns; a malformed one fails before anything starts.
 */
export function envPairs(pairs: readonly string[], flag = '--env'): Record<string, string> {
  return Object.fromEntries(
    pairs.map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0) throw new Error(`${flag} ${pair}: expected KEY=value`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}

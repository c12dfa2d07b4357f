/**
 * Whether JSON text nests deeper than `max` arrays/objects, found without parsing it.
 * Valid client frames nest three deep; a 64 Ki-character `[[[[…` costs JSON.parse about
 * 5 ms, which a few sockets within their rate limit could turn into a busy gateway. The scan
 * stops at the first level past `max`, so hostile frames are rejected after a few bytes.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

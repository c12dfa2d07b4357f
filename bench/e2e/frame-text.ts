/** Reading fields out of a frame's text without parsing it: the clients see hundreds of thousands per second. */

/** Integer that starts at `from` in `text` (digits only; the fields read here are never negative). */
export function intAt(text: string, from: number): number {
  let n = 0;
  for (let i = from; i < text.length; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    n = n * 10 + d;
  }
  return n;
}

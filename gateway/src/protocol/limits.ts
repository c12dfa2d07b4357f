/** Protocol-level caps that keep one socket's state small; documented in PROTOCOL.md. */
export const limits = {
  /** Longest accepted subscription id. */
  subIdLength: 64,
  /** Most ids in one filter. */
  filterIds: 1000,
  /** Longest customer name in a filter. */
  customerLength: 200,
  /** Longest accepted client frame, in UTF-16 code units. */
  frameLength: 64 * 1024,
} as const;

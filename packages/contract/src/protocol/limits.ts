/** Protocol-level caps that keep one socket's state small; documented in PROTOCOL.md. */
export const limits = {
  /** Longest accepted subscription id. */
  subIdLength: 64,
  /** Most ids in one filter. */
  filterIds: 1000,
  /** Longest customer name in a filter. */
  customerLength: 200,
  /** Longest accepted client frame, in UTF-16 code units; longer ones get `too_large` and the socket stays. */
  frameLength: 64 * 1024,
  /** Longest token in an `auth` frame; real JWTs with a few claims are well under 1 KiB. */
  tokenLength: 8 * 1024,
  /** Deepest array/object nesting in a client frame (valid frames use three). */
  jsonDepth: 8,
  /** Largest WebSocket message at all; ws closes the socket with 1009 beyond it, before buffering more. */
  maxPayloadBytes: 1024 * 1024,
} as const;

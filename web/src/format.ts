const timeFormat = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});

const dateFormat = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hour12: false,
});

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

export function formatClock(ms: number): string {
  return timeFormat.format(ms);
}

/**
 * Today's timestamps down to the second (that is where live changes happen), older ones with
 * their date. An unparsable timestamp is shown as it came rather than hidden.
 */
export function formatTimestamp(iso: string, now = Date.now()): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  return new Date(ms).toDateString() === new Date(now).toDateString()
    ? timeFormat.format(ms)
    : dateFormat.format(ms);
}

export function formatCount(value: number): string {
  return integer.format(value);
}

/** Milliseconds, switching to seconds where three digits of ms stop being readable. */
export function formatLatency(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

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
  return isSameDay(ms, now) ? timeFormat.format(ms) : dateFormat.format(ms);
}

/** Local midnight bounds of the last day asked about; recomputed only when the day changes. */
let day = { start: 0, end: 0 };

function isSameDay(ms: number, now: number): boolean {
  if (now < day.start || now >= day.end) {
    const start = new Date(now);
    start.setHours(0, 0, 0, 0);
    const end = new Date(start);
    end.setDate(end.getDate() + 1);
    day = { start: start.getTime(), end: end.getTime() };
  }
  return ms >= day.start && ms < day.end;
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

/** What a `reset` means for the person watching the page, by the gateway's reason. */
const REASONS: Record<string, string> = {
  cursor_expired: 'we were away longer than the change history reaches back',
  cursor_unknown: 'the change history no longer knows our position',
  epoch_changed: 'the change history was started anew (its store lost its data)',
  stream_gap: 'the gateway missed changes it could not recover from history',
  resnapshot: 'the database was captured afresh',
  truncate: 'the orders table was emptied',
  undeliverable: 'a change could not be delivered',
};

/** The feed line for a reset; an unknown reason is shown as it came. */
export function resetNotice(reason: string): string {
  return `Reset: ${REASONS[reason] ?? `reason ${reason}`}; loading a fresh snapshot`;
}

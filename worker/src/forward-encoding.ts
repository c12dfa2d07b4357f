/**
 * How a chunk is put to the forward scripts and how their replies are read: the ordered
 * script's compact arguments when the chunk fits it, six per record for the general one.
 */
import type { ForwardRecord, ForwardResult } from './forward-records.ts';
import { changeIdentity, orderedPositions, topicMarkPrefix } from './marks.ts';
import { forwardOrderedScript, forwardScript } from './scripts/index.ts';

/**
 * The script's arguments after the fixed ones: the ordered script's compact form when the
 * chunk fits it (see `orderedPositions`), else six per record for the general one.
 */
export function recordArgs(clusterId: string, topic: string, records: readonly ForwardRecord[]) {
  const positions = orderedPositions(records);
  if (positions !== null) {
    const args = [records.map((record) => record.offset).join(' '), positions.join(' ')];
    for (const record of records) args.push(JSON.stringify(record.change));
    return { script: forwardOrderedScript, args };
  }
  const args = [topicMarkPrefix(clusterId, topic)];
  for (const record of records) {
    args.push(
      record.offset,
      record.position?.commit ?? '',
      record.position?.change ?? '',
      changeIdentity(record),
      record.reset ?? (record.snapshotRead ? 's' : ''),
      record.change ? JSON.stringify(record.change) : '',
    );
  }
  return { script: forwardScript, args };
}

/** What a forward that was carried out returned, per input record. */
export function forwarded(records: readonly ForwardRecord[], reply: readonly unknown[]): ForwardResult {
  const [gateways, skipped, sourceSkipped, ...raw] = reply;
  const entries = raw.map((id) => (id === '' ? null : String(id)));
  const ids: string[] = [];
  let markers = 0;
  for (let i = 0; i < records.length; i++) {
    const id = entries[i];
    if (id == null) continue;
    if (records[i]?.change) ids.push(id);
    if (records[i]?.reset) markers++;
  }
  return {
    ids,
    entries,
    skipped: Number(skipped),
    sourceSkipped: Number(sourceSkipped),
    markers,
    gateways: Number(gateways),
  };
}

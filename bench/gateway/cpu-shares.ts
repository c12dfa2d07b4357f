/**
 * CPU time spent by every process of the machine over a window, from /proc: which process
 * an opening's wall time was really spent in (the measured server, the socket holder,
 * PostgreSQL, Redis, or anything else on the shared machine).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's utime and stime (USER_HZ, 100 on Linux). */
const TICKS_PER_S = 100;

type Snapshot = Map<number, { comm: string; ticks: number }>;

function snapshot(): Snapshot {
  const processes: Snapshot = new Map();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // ended while listed
    }
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split at the last ")".
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    // Fields 14 and 15 of the stat line (utime, stime) are 11 and 12 after "state".
    processes.set(pid, { comm, ticks: Number(fields[11]) + Number(fields[12]) });
  }
  return processes;
}

export interface CpuWindow {
  /** CPU seconds per named group; processes named in none fall under `other`. */
  stop(): Record<string, number>;
}

/**
 * Starts a window. `groups` name processes by pid (the measured server, the holder) or by
 * command name (`postgres`, `redis-server`); a process matching a pid is not also counted by
 * its name. Processes that start and end inside the window are not seen.
 */
export function cpuWindow(groups: { name: string; pids?: number[]; comm?: string }[]): CpuWindow {
  const before = snapshot();
  return {
    stop() {
      const after = snapshot();
      const seconds: Record<string, number> = Object.fromEntries(groups.map((g) => [g.name, 0]));
      seconds.other = 0;
      for (const [pid, now] of after) {
        const used = (now.ticks - (before.get(pid)?.ticks ?? 0)) / TICKS_PER_S;
        if (used <= 0) continue;
        const group =
          groups.find((g) => g.pids?.includes(pid)) ??
          groups.find((g) => g.comm !== undefined && now.comm.startsWith(g.comm));
        const name = group?.name ?? 'other';
        seconds[name] = (seconds[name] ?? 0) + used;
      }
      return seconds;
    },
  };
}

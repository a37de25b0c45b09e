// Which process a pid names, where the OS says. Pids are reused (from 1 again after a reboot, and when the counter
// wraps around), so a pid alone cannot tell a dead run from the unrelated process that has its number now. On
// Linux, /proc gives a process's start time (clock ticks since boot) and the boot's id: together they name one
// process. Elsewhere (macOS, Windows: no /proc) neither is known, and callers go by the pid alone. Node-only.

import { readFile } from 'node:fs/promises';

export interface ProcessInstance {
  /** This boot's id (/proc/sys/kernel/random/boot_id). */
  bootId?: string;
  /** When the process started, in clock ticks since boot (field 22 of /proc/<pid>/stat). */
  startTicks?: number;
}

/** What /proc says of process `pid`: each field where it can be read, none where there is no /proc. */
export async function processInstance(pid: number): Promise<ProcessInstance> {
  const [boot, stat] = await Promise.all([
    readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => undefined),
    readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined),
  ]);
  const bootId = boot?.trim() || undefined;
  const startTicks = stat === undefined ? undefined : startTicksOf(stat);
  return { ...(bootId && { bootId }), ...(startTicks !== undefined && { startTicks }) };
}

/** Field 22 (starttime) of a /proc/<pid>/stat line, or undefined if the line has none. Field 2, the command name
 * in parentheses, is whatever the process named itself, spaces and parentheses included, so the fields are counted
 * from after its last ')': the fields after it are numbers and the state letter. */
export function startTicksOf(stat: string): number | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  const field = stat.slice(close + 1).trim().split(/\s+/)[22 - 3]; // the first after ')' is field 3, the state
  if (!field || !/^\d+$/.test(field)) return undefined;
  const ticks = Number(field);
  return Number.isSafeInteger(ticks) ? ticks : undefined;
}

/** USER_HZ: the clock ticks per second of /proc's times, fixed at 100 by the kernel's ABI on x86, arm and the other
 * architectures Node runs on. */
const TICKS_PER_SECOND = 100;

/** When process `pid` started, in ms since the epoch (to within a second: the boot time in /proc/stat is whole
 * seconds), where /proc says; undefined elsewhere, or where the process is gone. */
export async function processStartedAt(pid: number): Promise<number | undefined> {
  const [{ startTicks }, stat] = await Promise.all([processInstance(pid), readFile('/proc/stat', 'utf8').catch(() => undefined)]);
  const bootSeconds = Number(/^btime (\d+)$/m.exec(stat ?? '')?.[1]);
  if (startTicks === undefined || !Number.isSafeInteger(bootSeconds)) return undefined;
  return bootSeconds * 1000 + (startTicks * 1000) / TICKS_PER_SECOND;
}

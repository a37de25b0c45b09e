// One run at a time in an output folder: run.lock, created only where none exists, names the process that writes
// there (pid and host, and on Linux its start time and the boot's id, process-instance.ts), and a second run is
// refused, naming it, instead of the two overwriting each other's checkpoints. A lock whose process is gone (a run
// killed by SIGKILL or a power cut) is taken over, with a note; so is one whose pid another process has now (after
// a reboot or a pid wrap-around), where the lock says which process it was. Another host's lock cannot be checked
// and is taken as held.
// Holding it, a run removes the temp files that killed writers left (atomic-write.ts): no live process writes
// them. Node-only.

import { link, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { tempPathFor, tempWriter } from './atomic-write.js';
import { firstFew } from './listing.js';
import { processInstance, processStartedAt } from './process-instance.js';

export const LOCK_FILE = 'run.lock';

interface Holder {
  pid: number;
  host: string;
  started?: string;
  /** Which process the pid was (process-instance.ts): absent where the OS does not say, and in older locks. */
  bootId?: string;
  startTicks?: number;
}

/** The locks this process holds. A lock naming this pid that is not among them was left by an earlier process
 * that had the same pid (a restarted container's node is pid 1 again), and is stale. */
const held = new Set<string>();

/** Whether a process with this pid runs on this machine (EPERM: it does, as another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface FolderLock {
  /** Removes the lock if it is still this one; never throws (a lock left behind is taken over as stale). */
  release(): Promise<void>;
}

/** Takes `dir`'s lock, or throws an Error naming the folder and the process that holds it. */
export async function lockFolder(dir: string, warn: (message: string) => void): Promise<FolderLock> {
  const path = resolve(dir, LOCK_FILE);
  const text = `${JSON.stringify({ pid: process.pid, host: hostname(), started: new Date().toISOString(), ...(await processInstance(process.pid)) } satisfies Holder)}\n`;
  for (let attempt = 0; attempt < 5; attempt++) {
    let created: boolean;
    try {
      created = await create(path, text);
    } catch (e) {
      throw new Error(`output folder ${dir}: cannot create its lock ${path} (${(e as Error).message})`, { cause: e });
    }
    if (created) {
      held.add(path);
      return { release: () => release(path, text) };
    }
    const holder = await readHolder(path);
    if (holder === 'gone') continue; // released since
    const stale = holder && (await whyStale(path, holder));
    if (!stale) throw busy(dir, path, holder);
    // Moved aside before it is removed, so that of two runs taking over one stale lock only one removes it: the
    // other moves the lock the first has just made, sees a live process in it, and puts it back.
    const aside = tempPathFor(path);
    if (!(await rename(path, aside).then(() => true, () => false))) continue;
    const moved = await readHolder(aside);
    if (moved && moved !== 'gone' && sameLock(moved, holder)) {
      warn(`${path}: took over the lock of process ${holder.pid}, which is no longer running ${stale}`);
    } else {
      await link(aside, path).catch(() => undefined);
    }
    await unlink(aside).catch(() => undefined);
  }
  throw new Error(`output folder ${dir}: could not take its lock ${path}: other runs keep taking it`);
}

/** Creates `path` holding `text` unless it exists (false then). Written in full before it appears under its name
 * (a hard link), so that no reader sees a lock without its pid; in place where the file system has no hard links. */
async function create(path: string, text: string): Promise<boolean> {
  const temp = tempPathFor(path);
  try {
    await writeFile(temp, text, { flag: 'wx' });
    await link(temp, path).catch((e: NodeJS.ErrnoException) => (e.code === 'EEXIST' ? Promise.reject(e) : writeFile(path, text, { flag: 'wx' })));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

/** The lock's holder; 'gone' if there is no lock any more, undefined if it names no process. */
async function readHolder(path: string): Promise<Holder | 'gone' | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : undefined;
  }
  try {
    const holder = JSON.parse(text) as Holder;
    return Number.isInteger(holder?.pid) && holder.pid > 0 && typeof holder.host === 'string' ? holder : undefined;
  } catch {
    return undefined;
  }
}

/** Why the lock's process is no longer running (the end of the note), or undefined if it may be. Only a lock of
 * this machine can be checked: another host's (a shared folder) is taken as held. */
async function whyStale(path: string, holder: Holder): Promise<string | undefined> {
  if (holder.host !== hostname()) return undefined;
  if (holder.pid === process.pid ? !held.has(path) : !processAlive(holder.pid)) return '(a killed run)';
  // The pid runs, but it may be another process's now. Only a lock that says which process it was can tell; an
  // older lock, or one read where /proc cannot be, is taken as held, as the pid alone says.
  const now = await processInstance(holder.pid);
  if (typeof holder.bootId === 'string' && now.bootId !== undefined && holder.bootId !== now.bootId) {
    return `(the machine has restarted since, another boot id; its pid is another process's now)`;
  }
  if (Number.isSafeInteger(holder.startTicks) && now.startTicks !== undefined && holder.startTicks !== now.startTicks) {
    return `(a killed run; its pid is another process's now, started at another time)`;
  }
  return undefined;
}

/** Whether the live process `pid` started after `path` was last written, so that it cannot be the writer its name
 * says (the pid reused after a reboot or a wrap-around; such a temp file had stayed for as long as that process
 * ran). Where /proc cannot tell, the pid alone says: not. Two seconds of margin for the boot time's whole seconds. */
async function startedSinceWritten(pid: number, path: string): Promise<boolean> {
  const [started, written] = await Promise.all([processStartedAt(pid), stat(path).then((s) => s.mtimeMs, () => undefined)]);
  return started !== undefined && written !== undefined && started > written + 2000;
}

/** Whether two reads of a lock found the same lock, not another run's written since. */
function sameLock(a: Holder, b: Holder): boolean {
  return a.pid === b.pid && a.host === b.host && a.started === b.started && a.bootId === b.bootId && a.startTicks === b.startTicks;
}

function busy(dir: string, path: string, holder: Holder | undefined): Error {
  const foreign = holder !== undefined && holder.host !== hostname();
  const who = holder ? `process ${holder.pid}${foreign ? ` on ${holder.host}` : ''}${holder.started ? `, since ${holder.started}` : ''}` : 'a process its lock does not name';
  const ifDead = foreign
    ? `This machine cannot check ${holder.host}'s processes, so its lock is taken as held: if no run on ${holder.host} is writing there, remove ${path}`
    : `If no run is writing there, remove ${path}`;
  return new Error(`output folder ${dir} is in use by another run (${who}): wait for it to end, or use another --out. ${ifDead}`);
}

async function release(path: string, text: string): Promise<void> {
  held.delete(path);
  const now = await readFile(path, 'utf8').catch(() => undefined);
  if (now === text) await unlink(path).catch(() => undefined);
}

/** Removes the temp files of atomic writes in `dir` whose writer is gone, saying so once. Call it holding `dir`'s
 * lock, when this process writes nothing there: a temp file naming this pid is then an earlier process's too. */
export async function removeStaleTemps(dir: string, warn: (message: string) => void): Promise<void> {
  const removed: string[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const pid = tempWriter(name);
    if (pid === undefined) continue;
    const path = join(dir, name);
    if (pid !== process.pid && processAlive(pid) && !(await startedSinceWritten(pid, path))) continue;
    await unlink(path).then(() => removed.push(name), () => undefined);
  }
  if (removed.length) {
    warn(`${dir}: removed ${removed.length} temp file(s) that killed runs had left: ${firstFew(removed)}`);
  }
}

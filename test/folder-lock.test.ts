// run.lock names the process instance, not just its pid: on Linux a lock records the process's start time and the
// boot's id, and a lock whose pid is alive but another process's now (after a reboot or a pid wrap-around) is taken
// over with a note saying why; the right instance, a lock of the older format and another host's lock are held. A
// temp file whose pid is alive but started after the file was written is a killed run's, and removed.
// The runs that use the lock (and a dead pid's lock) are tested in train-hardening.test.ts.

import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockFolder, removeStaleTemps } from '../src/io/folder-lock.js';
import { processInstance, processStartedAt, startTicksOf } from '../src/io/process-instance.js';
import { titleNeeding } from './skip.js';
import { tempDirForTests } from './temp-dir.js';

const dir = tempDirForTests('ser-folder-lock-');
const hasProc = existsSync('/proc/self/stat') && existsSync('/proc/sys/kernel/random/boot_id');
const needingProc = (title: string) => titleNeeding(hasProc, title, 'no /proc (not Linux)');

/** A folder holding `lock` as its run.lock, and the notes a lockFolder() there gives. */
async function lockedBy(name: string, lock: object) {
  const out = join(dir(), name);
  await mkdir(out);
  await writeFile(join(out, 'run.lock'), JSON.stringify(lock));
  const notes: string[] = [];
  return { out, path: join(out, 'run.lock'), notes, lock: () => lockFolder(out, (m) => notes.push(m)) };
}

const busy = (out: string, who: string) =>
  `output folder ${out} is in use by another run (${who}): wait for it to end, or use another --out. If no run is writing there, remove ${join(out, 'run.lock')}`;

describe('the start time in /proc/<pid>/stat', () => {
  it('is field 22, counted after the last ")": the command name may hold spaces and parentheses', () => {
    const after = (ticks: string) => `S 1 4242 4242 0 -1 4194560 107 0 0 0 0 0 0 0 20 0 1 0 ${ticks} 3133440 408 18446744073709551615 0`;
    expect(startTicksOf(`4242 (node) ${after('3649728')}\n`)).toBe(3649728);
    expect(startTicksOf(`4242 (a) b (c) 1 2 3) ${after('77')}`)).toBe(77);
    expect(startTicksOf(`4242 ()) ) ${after('0')}`)).toBe(0);
    expect(startTicksOf('4242 (node) S 1 4242')).toBeUndefined();
    expect(startTicksOf(`4242 (node ${after('77')}`)).toBeUndefined();
    expect(startTicksOf(`4242 (x) ${after('-5')}`)).toBeUndefined();
  });
});

describe('a lock whose pid is alive', () => {
  it(needingProc('records which process holds it: its start time and the boot id'), async () => {
    if (!hasProc) return;
    const out = join(dir(), 'ours');
    await mkdir(out);
    const lock = await lockFolder(out, () => undefined);
    const written = JSON.parse(await readFile(join(out, 'run.lock'), 'utf8'));
    expect(written).toMatchObject({ pid: process.pid, host: hostname(), ...(await processInstance(process.pid)) });
    expect(written.startTicks).toEqual(expect.any(Number));
    expect(written.bootId).toMatch(/^[0-9a-f-]{36}$/);
    await lock.release();
    expect(existsSync(join(out, 'run.lock'))).toBe(false);
  });

  it(needingProc('is held while that pid is the process that took it'), async () => {
    if (!hasProc) return;
    const held = { pid: process.ppid, host: hostname(), started: '2024-01-01T00:00:00.000Z', ...(await processInstance(process.ppid)) };
    const folder = await lockedBy('held', held);
    await expect(folder.lock()).rejects.toThrow(busy(folder.out, `process ${process.ppid}, since 2024-01-01T00:00:00.000Z`));
    expect(JSON.parse(await readFile(folder.path, 'utf8'))).toEqual(held);
  });

  it(needingProc('is taken over, with a note, when the pid is another process now (another start time)'), async () => {
    if (!hasProc) return;
    const { bootId, startTicks } = await processInstance(process.ppid);
    const folder = await lockedBy('reused-pid', { pid: process.ppid, host: hostname(), bootId, startTicks: startTicks! + 1 });
    const lock = await folder.lock();
    expect(folder.notes).toEqual([`${folder.path}: took over the lock of process ${process.ppid}, which is no longer running (a killed run; its pid is another process's now, started at another time)`]);
    expect(JSON.parse(await readFile(folder.path, 'utf8')).pid).toBe(process.pid);
    await lock.release();
  });

  it(needingProc('is taken over, with a note, when the machine has restarted since (another boot id)'), async () => {
    if (!hasProc) return;
    const { startTicks } = await processInstance(process.ppid);
    const folder = await lockedBy('rebooted', { pid: process.ppid, host: hostname(), bootId: '00000000-0000-0000-0000-000000000000', startTicks });
    const lock = await folder.lock();
    expect(folder.notes).toEqual([`${folder.path}: took over the lock of process ${process.ppid}, which is no longer running (the machine has restarted since, another boot id; its pid is another process's now)`]);
    await lock.release();
  });

  it('is held when the lock is of the older format, naming no start time: the pid alone cannot tell', async () => {
    const folder = await lockedBy('older', { pid: process.ppid, host: hostname(), started: '2024-01-01T00:00:00.000Z' });
    await expect(folder.lock()).rejects.toThrow(busy(folder.out, `process ${process.ppid}, since 2024-01-01T00:00:00.000Z`));
    expect(folder.notes).toEqual([]);
  });
});

describe("another host's lock", () => {
  it("is held, whatever its pid and start time, and the refusal says that it cannot be checked and what to do", async () => {
    const folder = await lockedBy('elsewhere', { pid: process.ppid, host: 'other-host', started: '2024-01-01T00:00:00.000Z', bootId: 'another boot', startTicks: 1 });
    await expect(folder.lock()).rejects.toThrow(
      `output folder ${folder.out} is in use by another run (process ${process.ppid} on other-host, since 2024-01-01T00:00:00.000Z): wait for it to end, or use another --out. ` +
        `This machine cannot check other-host's processes, so its lock is taken as held: if no run on other-host is writing there, remove ${folder.path}`,
    );
    expect(folder.notes).toEqual([]);
  });
});

describe("a temp file of an atomic write, named with its writer's pid", () => {
  it(needingProc('is removed where that pid is alive but started after the file was written (another process has the pid now), kept where it may be the writer'), async () => {
    if (!hasProc) return;
    const out = join(dir(), 'temps');
    await mkdir(out);
    // process.ppid runs: a file written before it started is not its (the pid reused); one written since may be.
    const [reused, current] = [`fold1-none.json.tmp-${process.ppid}-k3j9x0ab`, `run.json.tmp-${process.ppid}-a1b2`];
    for (const name of [reused, current]) await writeFile(join(out, name), 'x');
    const before = new Date('2001-01-01T00:00:00Z');
    await utimes(join(out, reused), before, before);
    const warnings: string[] = [];
    await removeStaleTemps(out, (m) => warnings.push(m));
    expect(await readdir(out)).toEqual([current]);
    expect(warnings).toEqual([`${out}: removed 1 temp file(s) that killed runs had left: ${reused}`]);
    // The start time it goes by: after the boot, before now.
    const started = (await processStartedAt(process.ppid))!;
    expect(started).toBeGreaterThan(Date.now() - 1000 * Number((await readFile('/proc/uptime', 'utf8')).split(' ')[0]) - 2000);
    expect(started).toBeLessThanOrEqual(Date.now());
  });
});

// The output folder of a run, made ready before hours of work go into it: created one level at a time (Node's
// recursive mkdir never returns for some paths, such as /proc/x), and proven writable by writing and removing a
// probe file. Every failure is an Error naming the folder and the reason. Node-only.

import { mkdir, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { tempPathFor } from './atomic-write.js';

export async function prepareOutputDir(dir: string): Promise<void> {
  const absolute = resolve(dir);
  const fail = (reason: string): never => {
    throw new Error(`output folder ${dir}: ${reason}`);
  };
  // The nearest ancestor that exists, then each missing level below it, created on its own.
  const missing: string[] = [];
  let current = absolute;
  for (;;) {
    const info = await stat(current).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : fail(`cannot inspect ${current} (${e.message})`)));
    if (info) {
      if (!info.isDirectory()) fail(`${current} exists and is not a folder`);
      break;
    }
    missing.unshift(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const folder of missing) {
    try {
      await mkdir(folder);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') fail(`cannot create ${folder} (${(e as Error).message})`);
    }
  }
  // A temp name (atomic-write.ts), so that one a killed process left is removed with the other temp files.
  const probe = tempPathFor(resolve(absolute, '.write-probe'));
  try {
    await writeFile(probe, 'ser-webgpu write probe\n', { flag: 'wx' });
  } catch (e) {
    fail(`not writable (${(e as Error).message})`);
  }
  await unlink(probe).catch(() => undefined);
}

// The folders of `ser train --seeds`: --out holds one experiment, a folder seed-<n> per training seed, all on the
// same folds. A seed folder belongs to it when its run.json records the same identity but for the training seed,
// so that seeds added later (--seed 4 --seeds 2 --split-seed 1 beside a --seeds 3 run) join the earlier ones in
// seeds.md. A seed folder of another experiment would be summed up with it or left beside it: a run refuses it,
// and --overwrite removes it. Only folders that runs made count (run.json, or an older version's run files); a
// seed-<n> folder without them is the user's and is never touched.

import { readdir, readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { lockFolder, removeStaleTemps, type FolderLock } from '../io/folder-lock.js';
import { firstFew } from '../io/listing.js';
import type { ExperimentInput } from '../train/experiment.js';
import { identityDifferences, recordedRun, removeRunFiles, runId, runIdentity } from '../train/run-record.js';
import type { RunResults } from './output.js';

export const seedFolder = (out: string, seed: number) => join(out, `seed-${seed}`);

/** The experiment's run for one training seed, in `dir`. */
export type SeedInput = (seed: number, dir: string) => ExperimentInput;

interface Found {
  seed: number;
  dir: string;
  /** Its run files, run.json among them where it has one. */
  files: string[];
  /** Why it is not this experiment's; undefined where it is. */
  other?: string;
}

/** The seed folders in `out` that runs made, by seed. */
async function seedFolders(out: string, inputFor: SeedInput): Promise<Found[]> {
  const found: Found[] = [];
  for (const entry of await readdir(out, { withFileTypes: true })) {
    const name = /^seed-(0|[1-9]\d*)$/.exec(entry.name);
    if (!name || !entry.isDirectory()) continue;
    const [seed, dir] = [Number(name[1]), join(out, entry.name)];
    const { files, recorded } = await recordedRun(dir);
    if (!files.length) continue;
    const identity = runIdentity(inputFor(seed, dir));
    let other: string | undefined;
    if (recorded instanceof Error) other = recorded.message;
    else if (!recorded) other = `the files of a run of an older version, without run.json: ${firstFew(files)}`;
    else if (recorded.id !== runId(identity)) other = identityDifferences(recorded.identity, identity, 'there').join('; ') || 'the run identity differs';
    found.push({ seed, dir, files, other });
  }
  return found.sort((a, b) => a.seed - b.seed);
}

/** Refuses, changing nothing, a seed folder of another experiment beside those of `seeds` (the ones this run
 * trains, which checkRunFolder checks); with overwrite, removes it instead, and the experiment's own folders
 * beyond `seeds` (a run of more seeds), so that `out` holds this run's seeds alone. Call it holding `out`'s lock. */
export async function clearSeedFolders(out: string, seeds: number[], inputFor: SeedInput, overwrite: boolean, warn: (message: string) => void): Promise<void> {
  const beside = (await seedFolders(out, inputFor)).filter((f) => !seeds.includes(f.seed));
  if (!overwrite) {
    const other = beside.filter((f) => f.other);
    if (!other.length) return;
    const named = firstFew(other.map((f) => `${f.dir} (${f.other})`));
    throw new Error(`output folder ${out} holds the seed folders of another experiment: ${named}. Nothing was changed there: use another --out, or --overwrite to remove them.`);
  }
  // All locked before any is removed: a run still writing in one (one started with it as --out) is refused with
  // nothing removed.
  const locks: FolderLock[] = [];
  try {
    for (const f of beside) locks.push(await lockFolder(f.dir, warn));
    for (const f of beside) {
      await removeStaleTemps(f.dir, warn);
      // run.json last: a removal cut short leaves the run recorded, as startRun does.
      const files = [...f.files.filter((n) => n !== 'run.json'), ...f.files.filter((n) => n === 'run.json')];
      await removeRunFiles(f.dir, files, `to remove ${f.dir}, a seed folder of the run replaced`);
    }
  } finally {
    for (const lock of locks) await lock.release();
  }
  for (const f of beside) {
    // A file no run wrote (the user's) keeps its folder.
    await rmdir(f.dir).then(
      () => warn(`${out}: removed ${f.dir}, a seed folder of the run that was there, to replace it`),
      (e: NodeJS.ErrnoException) => warn(`${f.dir}: removed the files of the run that was there, to replace it; the folder stays (${e.code === 'ENOTEMPTY' ? 'it holds files no run wrote' : e.message})`),
    );
  }
}

/** results.json where it scores every design of the experiment; undefined where it is missing or damaged. */
async function readResults(path: string, conditions: ExperimentInput['conditions']): Promise<RunResults | undefined> {
  try {
    const results = JSON.parse(await readFile(path, 'utf8')) as RunResults;
    const scored = (d: (typeof conditions)[number]) => typeof results[d]?.ua === 'number' && Array.isArray(results[d]?.foldUa) && results[d]!.foldUa.every((x) => typeof x === 'number');
    return conditions.every(scored) ? results : undefined;
  } catch {
    return undefined;
  }
}

/** The experiment's seed folders in `out`, by seed: with their results, and those without (unfinished). */
export async function seedResults(out: string, inputFor: SeedInput) {
  const finished: { seed: number; results: RunResults }[] = [];
  const unfinished: { seed: number; dir: string }[] = [];
  for (const { seed, dir, other } of await seedFolders(out, inputFor)) {
    if (other) continue;
    const results = await readResults(join(dir, 'results.json'), inputFor(seed, dir).conditions);
    if (results) finished.push({ seed, results });
    else unfinished.push({ seed, dir });
  }
  return { finished, unfinished };
}

// The folders of `ser train --seeds`: --out holds one experiment, a folder seed-<n> per training seed, all on the
// same folds. A seed folder belongs to it when its run.json records the same identity but for the training seed,
// so that seeds added later (--seed 4 --seeds 2 --split-seed 1 beside a --seeds 3 run) join the earlier ones in
// seeds.md. A seed folder of another experiment would be summed up with it or left beside it: a run refuses it,
// and --overwrite removes it. Only folders that runs made count (run.json, or an older version's run files); a
// seed-<n> folder without them is the user's and is never touched. Nor does --out hold a single run (a plain
// `ser train`'s files at its top) beside seed folders: the two layouts are two experiments, and whichever comes
// second refuses the first, or with --overwrite removes it (clearOtherLayout).

import { readdir, readFile, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { lockFolder, removeStaleTemps, type FolderLock } from '../io/folder-lock.js';
import { firstFew } from '../io/listing.js';
import type { ExperimentInput } from '../train/experiment.js';
import { compareRun, heldRun, recordedRun, removeRunFiles, type FolderRun } from '../train/run-record.js';
import type { RunResults, SeedFolds } from './output.js';

export const seedFolder = (out: string, seed: number) => join(out, `seed-${seed}`);

/** The experiment's run for one training seed, in `dir`. */
export type SeedInput = (seed: number, dir: string) => ExperimentInput;

interface RunFolder extends FolderRun {
  seed: number;
  dir: string;
}

/** The seed folders in `out` that runs made, by seed. */
async function runSeedFolders(out: string): Promise<RunFolder[]> {
  const found: RunFolder[] = [];
  for (const entry of await readdir(out, { withFileTypes: true })) {
    const name = /^seed-(0|[1-9]\d*)$/.exec(entry.name);
    if (!name || !entry.isDirectory()) continue;
    const dir = join(out, entry.name);
    const run = await recordedRun(dir);
    if (run.files.length) found.push({ seed: Number(name[1]), dir, ...run });
  }
  return found.sort((a, b) => a.seed - b.seed);
}

interface Found extends RunFolder {
  /** Why it is not this experiment's; undefined where it is. */
  other?: string;
}

/** The seed folders in `out` that runs made, by seed, each with why it is not this experiment's, if it is not. */
async function seedFolders(out: string, inputFor: SeedInput): Promise<Found[]> {
  return (await runSeedFolders(out)).map((f) => {
    const { seed, dir, recorded } = f;
    let other: string | undefined;
    if (recorded instanceof Error) other = recorded.message;
    else if (!recorded) other = heldRun(dir, f);
    else {
      // Compared as startRun compares: where an older version wrote its run.json, without the audio, unchecked.
      const match = compareRun(recorded, inputFor(seed, dir), join(dir, 'run.json'), 'there');
      // A seed of this experiment with fewer designs (trained with --no-gender) is this experiment's, unfinished
      // until a --resume of that seed adds them: refused, it was offered for --overwrite to remove.
      if (!match.same && !match.adds) other = match.differences;
    }
    return { ...f, other };
  });
}

/** Removes the run files of these folders of `out` (`out` itself among them, or its seed folders), run.json last
 * so that a removal cut short leaves the run recorded, as startRun does; then each seed folder left empty. Call it
 * holding `out`'s lock. */
async function removeRuns(out: string, runs: { dir: string; files: string[] }[], warn: (message: string) => void): Promise<void> {
  const below = runs.filter((r) => r.dir !== out);
  // All locked before any is removed: a run still writing in one (one started with it as --out) is refused with
  // nothing removed.
  const locks: FolderLock[] = [];
  try {
    for (const r of below) locks.push(await lockFolder(r.dir, warn));
    for (const r of runs) {
      if (r.dir !== out) await removeStaleTemps(r.dir, warn);
      const files = [...r.files.filter((n) => n !== 'run.json'), ...r.files.filter((n) => n === 'run.json')];
      await removeRunFiles(r.dir, files, r.dir === out ? 'to replace the run there' : `to remove ${r.dir}, a seed folder of the run replaced`);
      if (r.dir === out) warn(`${out}: removed the ${files.length} file(s) of the run that was there (${firstFew(r.files)}), to replace it`);
    }
  } finally {
    for (const lock of locks) await lock.release();
  }
  for (const r of below) {
    // A file no run wrote (the user's) keeps its folder.
    await rmdir(r.dir).then(
      () => warn(`${out}: removed ${r.dir}, a seed folder of the run that was there, to replace it`),
      (e: NodeJS.ErrnoException) => warn(`${r.dir}: removed the files of the run that was there, to replace it; the folder stays (${e.code === 'ENOTEMPTY' ? 'it holds files no run wrote' : e.message})`),
    );
  }
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
  await removeRuns(out, beside, warn);
}

/** Refuses, changing nothing, a run of the other layout in `out`, which this one would leave beside its own: for
 * a --seeds run (`seedsRun`), a single run at the top of `out`; for a single run, the seed folders that runs made
 * and seeds.md. Even on resume: that run is never the one resumed. With overwrite, removes it instead. Call it
 * holding `out`'s lock (a single run: from runExperiment's clearFolder, before the run is recorded). */
export async function clearOtherLayout(out: string, seedsRun: boolean, flags: { overwrite: boolean; resume: boolean }, warn: (message: string) => void): Promise<void> {
  let runs: { dir: string; files: string[] }[];
  let held: string;
  let summary = false;
  if (seedsRun) {
    const run = await recordedRun(out);
    if (!run.files.length) return;
    runs = [{ dir: out, files: run.files }];
    held = `a single run at its top (${heldRun(out, run)}), which --seeds would leave beside its seed folders`;
  } else {
    runs = await runSeedFolders(out);
    summary = await stat(join(out, 'seeds.md')).then((s) => s.isFile(), () => false);
    if (!runs.length && !summary) return;
    const named = [...runs.map((r) => `${r.dir} (${heldRun(r.dir, r)})`), ...(summary ? [join(out, 'seeds.md')] : [])];
    held = `${runs.length ? 'the seed folders' : 'the summary'} of a --seeds run (${firstFew(named)}), which this run would leave beside its own`;
  }
  if (!flags.overwrite) {
    const them = seedsRun ? 'it' : 'them';
    const advice = flags.resume
      ? `--resume cannot continue ${them}; move ${them} elsewhere to resume there, or start again with --overwrite instead of --resume`
      : `use another --out, or --overwrite to remove ${them}`;
    throw new Error(`output folder ${out} holds ${held}. Nothing was changed there: ${advice}.`);
  }
  await removeRuns(out, runs, warn);
  if (summary) {
    await removeRunFiles(out, ['seeds.md'], 'to replace the run there');
    warn(`${out}: removed ${join(out, 'seeds.md')}, the summary of the seeds that were there, to replace them`);
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

/** Each design's fold results in `dir` (fold<i>-<design>.json, one per fold of results.json), with each test
 * utterance's label and probabilities; a design whose fold results are missing, damaged or without probabilities
 * (older versions) is left out. */
async function readFoldProbabilities(dir: string, results: RunResults, conditions: ExperimentInput['conditions']): Promise<SeedFolds> {
  const out: SeedFolds = {};
  for (const d of conditions) {
    const folds = [];
    for (let i = 1; i <= (results[d]?.foldUa.length ?? 0); i++) {
      // Unreadable or not JSON: no ensemble line, never a failed summary.
      const fold = await readFile(join(dir, `fold${i}-${d}.json`), 'utf8')
        .then((text) => JSON.parse(text) as { truth?: unknown; probabilities?: unknown } | null)
        .catch(() => undefined);
      const { truth, probabilities } = fold ?? {};
      const labels = Array.isArray(truth) && truth.every((t) => Number.isInteger(t)) ? (truth as number[]) : undefined;
      const rows = Array.isArray(probabilities) && probabilities.every((row) => Array.isArray(row) && row.every((p) => typeof p === 'number')) ? (probabilities as number[][]) : undefined;
      if (!labels || !rows || rows.length !== labels.length) break;
      folds.push({ truth: labels, probabilities: rows });
    }
    if (folds.length && folds.length === results[d]?.foldUa.length) out[d] = folds;
  }
  return out;
}

/** The experiment's seed folders in `out`, by seed: with their results and fold results, and those without
 * results (unfinished). */
export async function seedResults(out: string, inputFor: SeedInput) {
  const finished: { seed: number; results: RunResults; folds: SeedFolds }[] = [];
  const unfinished: { seed: number; dir: string }[] = [];
  for (const { seed, dir, other } of await seedFolders(out, inputFor)) {
    if (other) continue;
    const { conditions } = inputFor(seed, dir);
    const results = await readResults(join(dir, 'results.json'), conditions);
    if (results) finished.push({ seed, results, folds: await readFoldProbabilities(dir, results, conditions) });
    else unfinished.push({ seed, dir });
  }
  return { finished, unfinished };
}

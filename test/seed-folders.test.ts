// `ser train --seeds N` output folders hold one experiment: seeds.md sums up every seed folder of it in --out
// (seeds added later with --seed and --split-seed too; unfinished ones named), a seed folder of another
// experiment is refused, changing nothing, and --overwrite removes it and the seed folders of a run of more
// seeds; the demo adds seeds as train does. A single run and seed folders are not mixed in one --out: whichever
// comes second is refused, or with --overwrite removes the other. Tiny runs of a CSV corpus through the CLI, a
// few seconds each.

import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeWav16 } from '../src/audio/index.js';
import { makeVoice, synthesizeUtterance } from '../src/train/synthetic.js';
import { cliForTests, type CliRun } from './cli.js';
import { tempDirForTests } from './temp-dir.js';

describe('a --seeds output folder', () => {
  const cli = cliForTests();
  const dir = tempDirForTests('ser-seed-folders-');
  const data = () => join(dir(), 'corpus');

  beforeAll(async () => {
    // Four speakers (two of each gender), two emotions, two utterances each.
    await mkdir(data());
    const rows = ['path,emotion,speaker,gender'];
    for (let speaker = 0; speaker < 4; speaker++) {
      for (const emotion of ['angry', 'sad']) {
        for (let i = 0; i < 2; i++) {
          const file = `s${speaker}-${emotion}-${i}.wav`;
          await writeFile(join(data(), file), encodeWav16(synthesizeUtterance(makeVoice(speaker, 7), emotion, 10 * speaker + i, 1.1, 16000), 16000));
          rows.push(`${file},${emotion},s${speaker},${speaker % 2 ? 'm' : 'f'}`);
        }
      }
    }
    await writeFile(join(data(), 'manifest.csv'), rows.join('\n'));
  });

  const trainDesigns = (out: string, ...more: string[]) =>
    cli.run(['train', '--corpus', 'csv', '--data', join(data(), 'manifest.csv'), '--folds', '2', '--epochs', '1', '--model', 'compact', '--no-final', '--out', out, '--json', ...more]);
  const train = (out: string, ...more: string[]) => trainDesigns(out, '--no-gender', ...more);
  const summary = (r: CliRun) => {
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { seeds: number[]; unfinished?: number[]; ua: { none: { mean: number } }; runs: { seed: number }[] };
  };
  const seedFolders = async (out: string) => (await readdir(out)).filter((f) => f.startsWith('seed-')).sort();
  /** Every file below `out` with its content. */
  const files = async (out: string) => {
    const names = (await readdir(out, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)).sort();
    return Object.fromEntries(await Promise.all(names.map(async (f) => [f, await readFile(f, 'base64')] as const)));
  };

  it('seeds.md covers the seeds added with --seed --split-seed and the earlier ones, names an unfinished one, and --resume finishes it', async () => {
    const out = join(dir(), 'added');
    summary(await train(out, '--seeds', '2'));
    await rm(join(out, 'seed-2', 'results.json')); // as if killed before its report
    // A damaged fold result of a seed not trained below: the summary leaves the ensemble out (it had failed).
    await writeFile(join(out, 'seed-1', 'fold1-none.json'), '{"truth": [0, 1');
    const added = summary(await train(out, '--seed', '3', '--seeds', '2', '--split-seed', '1'));
    // It had summed up seeds 3 and 4 alone, while seed-1 and seed-2 stayed beside them.
    expect(added.seeds).toEqual([1, 3, 4]);
    expect(added.runs.map((r) => r.seed)).toEqual([1, 3, 4]);
    expect(added.unfinished).toEqual([2]);
    const uas = await Promise.all([1, 3, 4].map(async (s) => JSON.parse(await readFile(join(out, `seed-${s}`, 'results.json'), 'utf8')).none.ua as number));
    expect(added.ua.none.mean).toBeCloseTo(uas.reduce((a, b) => a + b) / 3, 12);
    const md = await readFile(join(out, 'seeds.md'), 'utf8');
    expect(md).toContain('3 training seeds (1, 3, 4) on the same speaker-independent folds');
    expect(md).toContain(`unfinished, not in the table (no results yet): seed 2 (${join(out, 'seed-2')})`);
    expect(md).not.toContain('as one ensemble');
    const resumed = summary(await train(out, '--seeds', '2', '--resume'));
    expect(resumed.seeds).toEqual([1, 2, 3, 4]);
    expect(resumed.unfinished).toEqual([]);
    const resumedMd = await readFile(join(out, 'seeds.md'), 'utf8');
    expect(resumedMd).toContain('4 training seeds (1, 2, 3, 4)');
    // Seed 1's damaged fold trained again: every seed's fold results give the ensemble.
    expect(resumedMd).toMatch(/- the 4 seeds as one ensemble \(each utterance's probabilities averaged, as `ser ensemble` makes one\): UA no gender \d+\.\d%\n/);
  }, 180_000);

  it("ser demo adds seeds too: --split-seed deals its synthetic corpus as it deals the folds", async () => {
    const out = join(dir(), 'demo');
    const demo = (...more: string[]) => cli.run(['demo', '--speakers', '4', '--utterances', '1', '--epochs', '1', '--no-gender', '--out', out, '--json', ...more]);
    summary(await demo('--seeds', '2'));
    expect(summary(await demo('--seed', '3', '--seeds', '2', '--split-seed', '1')).seeds).toEqual([1, 2, 3, 4]);
    // Seed 3 added is seed 3 of one --seeds 3 run: the corpus had been dealt by --seed, so seeds 3 and 4 trained
    // on another corpus (of the same names and lengths) and were summed up with seeds 1 and 2.
    const whole = join(dir(), 'demo-whole');
    summary(await cli.run(['demo', '--speakers', '4', '--utterances', '1', '--epochs', '1', '--no-gender', '--out', whole, '--json', '--seeds', '3']));
    // The training losses tell the corpora apart (one epoch predicts one class: the scores are alike).
    const losses = async (folder: string) => (JSON.parse(await readFile(join(folder, 'seed-3', 'fold1-none.json'), 'utf8')) as { history: { trainLoss: number }[] }).history.map((h) => h.trainLoss);
    expect(await losses(out)).toEqual(await losses(whole));
  }, 180_000);

  it('ser demo and ser demo --seeds N, as the README runs them one after the other, have folders of their own by default', async () => {
    // Both in runs/demo, the seeds were refused beside the single run (the two layouts refuse each other).
    const cwd = dir();
    const tiny = ['demo', '--speakers', '4', '--utterances', '1', '--epochs', '1', '--no-gender', '--json'];
    summary(await cli.run(tiny, { cwd }));
    expect(summary(await cli.run([...tiny, '--seeds', '2'], { cwd })).seeds).toEqual([1, 2]);
    expect(await readFile(join(cwd, 'runs', 'demo', 'run.json'), 'utf8')).toContain('"format"');
    expect(await seedFolders(join(cwd, 'runs', 'demo-seeds'))).toEqual(['seed-1', 'seed-2']);
  }, 180_000);

  it("the seeds of a --no-gender run take the gender design by --resume: those not resumed yet are unfinished, not another experiment (they had been refused, and --overwrite offered)", async () => {
    const out = join(dir(), 'designs-added');
    summary(await train(out, '--seeds', '3'));
    const noneOnly = JSON.parse(await readFile(join(out, 'seed-1', 'results.json'), 'utf8'));
    // The same command without --no-gender.
    const withGender = (...more: string[]) => trainDesigns(out, ...more);
    const two = summary(await withGender('--seeds', '2', '--resume'));
    expect(two.seeds).toEqual([1, 2]);
    expect(two.unfinished).toEqual([3]);
    const extended = JSON.parse(await readFile(join(out, 'seed-1', 'results.json'), 'utf8'));
    expect(extended.none).toEqual(noneOnly.none);
    expect(typeof extended.concat.ua).toBe('number');
    const all = summary(await withGender('--seeds', '3', '--resume'));
    expect(all.seeds).toEqual([1, 2, 3]);
    expect(all.unfinished).toEqual([]);
  }, 180_000);

  it("a seed folder of another experiment is refused, changing nothing, and --overwrite removes it (they had been summed up or left beside)", async () => {
    const out = join(dir(), 'other');
    summary(await train(out, '--seeds', '2'));
    await mkdir(join(out, 'seed-9')); // the user's: no run made it
    await writeFile(join(out, 'seed-9', 'notes.txt'), 'mine');
    const before = await files(out);
    const refused = await train(out, '--seed', '3', '--seeds', '2', '--split-seed', '1', '--lr', '0.001');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`ser: output folder ${out} holds the seed folders of another experiment: ${join(out, 'seed-1')} (training.lr: 0.002 there vs 0.001 now)`);
    expect(refused.stderr).toContain('Nothing was changed there: use another --out, or --overwrite to remove them.');
    expect(await files(out)).toEqual(before);
    const replaced = summary(await train(out, '--seed', '3', '--seeds', '2', '--split-seed', '1', '--lr', '0.001', '--overwrite'));
    expect(replaced.seeds).toEqual([3, 4]);
    expect(await seedFolders(out)).toEqual(['seed-3', 'seed-4', 'seed-9']);
    expect(await readFile(join(out, 'seed-9', 'notes.txt'), 'utf8')).toBe('mine');
  }, 180_000);

  it('--seeds in a folder holding a single run is refused, changing nothing, even on resume; --overwrite removes its files alone (the seeds had been written beside it)', async () => {
    const out = join(dir(), 'single-then-seeds');
    expect((await train(out)).code).toBe(0);
    const runFiles = (await readdir(out)).sort();
    const id = JSON.parse(await readFile(join(out, 'run.json'), 'utf8')).id as string;
    await writeFile(join(out, 'notes.txt'), 'mine');
    await mkdir(join(out, 'seed-9')); // the user's: no run made it
    await writeFile(join(out, 'seed-9', 'notes.txt'), 'mine too');
    const before = await files(out);
    const refused = await train(out, '--seeds', '2');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`ser: output folder ${out} holds a single run at its top (run ${id}, recorded in ${join(out, 'run.json')}), which --seeds would leave beside its seed folders. Nothing was changed there: use another --out, or --overwrite to remove it.`);
    const resumed = await train(out, '--seeds', '2', '--resume');
    expect(resumed.code).toBe(1);
    expect(resumed.stderr).toContain(`ser: output folder ${out} holds a single run at its top (run ${id}`);
    expect(resumed.stderr).toContain('Nothing was changed there: --resume cannot continue it; move it elsewhere to resume there, or start again with --overwrite instead of --resume.');
    expect(await files(out)).toEqual(before);
    expect(await seedFolders(out)).toEqual(['seed-9']);
    const replaced = await train(out, '--seeds', '2', '--overwrite');
    expect(summary(replaced).seeds).toEqual([1, 2]);
    expect(replaced.stderr).toContain(`${out}: removed the ${runFiles.length} file(s) of the run that was there (${runFiles.slice(0, 3).join(', ')} and ${runFiles.length - 3} more), to replace it`);
    expect((await readdir(out)).sort()).toEqual(['notes.txt', 'seed-1', 'seed-2', 'seed-9', 'seeds.md']);
    expect(await readFile(join(out, 'notes.txt'), 'utf8')).toBe('mine');
    expect(await readFile(join(out, 'seed-9', 'notes.txt'), 'utf8')).toBe('mine too');
  }, 180_000);

  it('a single run in a folder holding seed folders and seeds.md is refused, changing nothing, even on resume; --overwrite removes them, keeping the files no run wrote (it had been written beside them)', async () => {
    const out = join(dir(), 'seeds-then-single');
    summary(await train(out, '--seeds', '2'));
    const ids = await Promise.all([1, 2].map(async (s) => JSON.parse(await readFile(join(out, `seed-${s}`, 'run.json'), 'utf8')).id as string));
    await writeFile(join(out, 'seed-1', 'notes.txt'), 'mine');
    await mkdir(join(out, 'seed-9'));
    await writeFile(join(out, 'seed-9', 'notes.txt'), 'mine too');
    const before = await files(out);
    const held = `${join(out, 'seed-1')} (run ${ids[0]}, recorded in ${join(out, 'seed-1', 'run.json')}), ${join(out, 'seed-2')} (run ${ids[1]}, recorded in ${join(out, 'seed-2', 'run.json')}), ${join(out, 'seeds.md')}`;
    const refused = await train(out);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`ser: output folder ${out} holds the seed folders of a --seeds run (${held}), which this run would leave beside its own. Nothing was changed there: use another --out, or --overwrite to remove them.`);
    const resumed = await train(out, '--resume');
    expect(resumed.code).toBe(1);
    expect(resumed.stderr).toContain('Nothing was changed there: --resume cannot continue them; move them elsewhere to resume there, or start again with --overwrite instead of --resume.');
    // Refused for its folds (4 speakers), --overwrite removes nothing: the folds are dealt before the folder is cleared.
    const folds = await train(out, '--overwrite', '--folds', '5');
    expect(folds.code).toBe(1);
    expect(folds.stderr).toContain('ser: folds: kfold with k=5 needs at least 5 speakers, got 4');
    expect(await files(out)).toEqual(before);
    const replaced = await train(out, '--overwrite');
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(replaced.stderr).toContain(`${out}: removed ${join(out, 'seed-2')}, a seed folder of the run that was there, to replace it`);
    expect(replaced.stderr).toContain(`${join(out, 'seed-1')}: removed the files of the run that was there, to replace it; the folder stays (it holds files no run wrote)`);
    expect(replaced.stderr).toContain(`${out}: removed ${join(out, 'seeds.md')}, the summary of the seeds that were there, to replace them`);
    expect(await seedFolders(out)).toEqual(['seed-1', 'seed-9']);
    expect(await readdir(join(out, 'seed-1'))).toEqual(['notes.txt']);
    expect(await readFile(join(out, 'seed-9', 'notes.txt'), 'utf8')).toBe('mine too');
    expect(existsSync(join(out, 'seeds.md'))).toBe(false);
    expect(existsSync(join(out, 'run.json'))).toBe(true);
  }, 180_000);

  it('--overwrite --seeds 2 leaves no seed folder of an earlier --seeds 3 run', async () => {
    const out = join(dir(), 'fewer');
    summary(await train(out, '--seeds', '3'));
    const fewer = summary(await train(out, '--seeds', '2', '--overwrite'));
    expect(fewer.seeds).toEqual([1, 2]);
    expect(await seedFolders(out)).toEqual(['seed-1', 'seed-2']);
    expect(existsSync(join(out, 'seed-3'))).toBe(false);
  }, 180_000);
});

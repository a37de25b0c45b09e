// scripts/paired_runs.py, which the README's EMO-DB tables come from, reads a `ser train --seeds` folder's seeds
// as ser train's seeds.md does: every seed-<n> folder with results, seeds added later too, and an ablation of two
// folders paired seed by seed.

import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirForTests } from './temp-dir.js';
import { PYTHON } from './torch.js';
import { titleNeeding } from './skip.js';

const numpy = spawnSync(PYTHON, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

/** A seed folder whose results give each design these per-fold UAs (ua: their mean). */
function seed(out: string, n: number, folds: Record<string, number[]>): void {
  mkdirSync(join(out, `seed-${n}`), { recursive: true });
  const results = Object.fromEntries(Object.entries(folds).map(([d, f]) => [d, { ua: f.reduce((a, b) => a + b) / f.length, foldUa: f }]));
  writeFileSync(join(out, `seed-${n}`, 'results.json'), JSON.stringify(results));
}

const run = (...folders: string[]) => {
  const r = spawnSync(PYTHON, ['scripts/paired_runs.py', ...folders], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  return r.stdout;
};

describe('scripts/paired_runs.py', () => {
  const dir = tempDirForTests('paired-runs');
  it.skipIf(!numpy)(titleNeeding(numpy, 'reads every finished seed, past a seed left unfinished', `${PYTHON} cannot import numpy`), () => {
    const out = join(dir(), 'one');
    seed(out, 1, { concat: [0.5, 0.6], none: [0.4, 0.6] });
    mkdirSync(join(out, 'seed-2')); // unfinished: no results.json
    seed(out, 4, { concat: [0.7, 0.8], none: [0.7, 0.6] });
    // It had stopped at seed-2, and printed seed 1 alone.
    expect(run(out)).toMatch(/\| concat \| 55\.0, 75\.0 \| 65\.0 ± 14\.1 \| \+7\.5 ± 9\.6 \(n=4\)/);
  });

  it.skipIf(!numpy)(titleNeeding(numpy, 'pairs an ablation seed by seed, naming the seeds of one folder only', `${PYTHON} cannot import numpy`), () => {
    const [before, after] = [join(dir(), 'before'), join(dir(), 'after')];
    seed(before, 1, { none: [0.5, 0.5] });
    seed(before, 2, { none: [0.6, 0.6] });
    seed(after, 2, { none: [0.7, 0.7] });
    // Seed 2 after against seed 2 before (+10 points): by position it had been paired with seed 1 (+20).
    const text = run(before, after);
    expect(text).toContain('left out: [1]');
    expect(text).toMatch(/\| none \| 60\.0 \| 70\.0 \| 70\.0 ± 0\.0 \| \+10\.0/);
  });

  it.skipIf(!numpy)(titleNeeding(numpy, 'gives a second interval that resamples the seeds as well as the folds', `${PYTHON} cannot import numpy`), () => {
    const [before, after] = [join(dir(), 'redraw-before'), join(dir(), 'redraw-after')];
    // Seed 1 moved every fold by +10 points, seed 2 none: resampling folds alone sees no spread at all (the two
    // draws of one EMO-DB experiment had fold intervals clear of 0); resampling seeds too spans 0 to +10.
    for (const n of [1, 2]) seed(before, n, { none: [0.5, 0.6, 0.7] });
    seed(after, 1, { none: [0.6, 0.7, 0.8] });
    seed(after, 2, { none: [0.5, 0.6, 0.7] });
    expect(run(before, after)).toMatch(/\| none \| .* \| \+5\.0 ± 5\.5 \(n=6\) \| \+5\.0 to \+5\.0 \| \+0\.0 to \+10\.0 \|/);
  });

  it.skipIf(!numpy)(titleNeeding(numpy, 'answers a flag or a missing folder with its usage (it had failed in os.listdir)', `${PYTHON} cannot import numpy`), () => {
    for (const args of [['--help'], [join(dir(), 'absent')], []]) {
      const r = spawnSync(PYTHON, ['scripts/paired_runs.py', ...args], { encoding: 'utf8' });
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(/^usage: paired_runs\.py \[BEFORE_DIR\] DIR/);
    }
  });
});

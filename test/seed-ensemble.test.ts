// scripts/seed_ensemble.py, which the README's ensemble figures come from: the seeds of a `ser train --seeds`
// run decide each test utterance together, by their mean probabilities or, in fold results written before those
// were kept, by a vote whose ties no seed's order decides.

import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirForTests } from './temp-dir.js';
import { PYTHON } from './torch.js';
import { titleNeeding } from './skip.js';

const numpy = spawnSync(PYTHON, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
const needsNumpy = (title: string) => titleNeeding(numpy, title, `${PYTHON} cannot import numpy`);

interface FoldFile {
  truth: number[];
  predicted: number[];
  probabilities?: number[][];
}

/** Writes seed-<seed>/fold<i>-<design>.json for each fold given, as ser train does. */
function folds(out: string, seed: number, design: string, results: FoldFile[]): void {
  mkdirSync(join(out, `seed-${seed}`), { recursive: true });
  results.forEach((r, i) => writeFileSync(join(out, `seed-${seed}`, `fold${i + 1}-${design}.json`), JSON.stringify(r)));
}

const run = (...args: string[]) => spawnSync(PYTHON, ['scripts/seed_ensemble.py', ...args], { encoding: 'utf8' });

describe('scripts/seed_ensemble.py', () => {
  const dir = tempDirForTests('seed-ensemble');

  it.skipIf(!numpy)(needsNumpy('averages the seeds\' probabilities: two seeds wrong on one utterance each are right together'), () => {
    const out = join(dir(), 'soft');
    const truth = [0, 1];
    folds(out, 1, 'none', [{ truth, predicted: [1, 1], probabilities: [[0.4, 0.6], [0.1, 0.9]] }]);
    folds(out, 2, 'none', [{ truth, predicted: [0, 0], probabilities: [[0.9, 0.1], [0.6, 0.4]] }]);
    const r = run(out);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('| none | mean of probabilities | 50.0 ± 0.0 | 100.0 |');
  });

  it.skipIf(!numpy)(needsNumpy('votes where the probabilities were not kept, a tie splitting its credit over the tied classes'), () => {
    const out = join(dir(), 'vote');
    const truth = [0, 1];
    // Alone: 50, 50 and 100 % UA. Pairs: AB ties on both (50), AC and BC on one (75). All three: 100.
    folds(out, 1, 'none', [{ truth, predicted: [1, 1] }]);
    folds(out, 2, 'none', [{ truth, predicted: [0, 0] }]);
    folds(out, 3, 'none', [{ truth, predicted: [0, 1] }]);
    const r = run(out);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('| none | plurality vote | 66.7 ± 28.9 | 66.7 ± 14.4 | 100.0 |');
  });

  it.skipIf(!numpy)(needsNumpy('gives the gender effect of the ensembles per fold, leaving out a seed with unfinished folds'), () => {
    const out = join(dir(), 'effect');
    const truth = [0, 1];
    for (const seed of [1, 2]) {
      folds(out, seed, 'concat', [{ truth, predicted: [0, 1] }, { truth, predicted: [0, 1] }]);
      folds(out, seed, 'none', [{ truth, predicted: [0, 0] }, { truth, predicted: [0, 0] }]);
    }
    folds(out, 3, 'none', [{ truth, predicted: [0, 1] }]); // its fold 2 unfinished
    const r = run(out);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('none: seeds with unfinished folds left out: [3]');
    expect(r.stdout).toContain('concat − none, the ensembles of all 2 seeds, per fold: +50.0 ± 0.0 (n=2), 95 % CI +50.0 to +50.0 resampling the folds');
  });

  it.skipIf(!numpy)(needsNumpy('refuses seeds that scored other utterances, naming the file'), () => {
    const out = join(dir(), 'mixed');
    folds(out, 1, 'none', [{ truth: [0, 1], predicted: [0, 1] }]);
    folds(out, 2, 'none', [{ truth: [1, 0], predicted: [0, 1] }]);
    const r = run(out);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("seed-2/fold1-none.json: its test utterances differ from seed-1's: not one experiment");
  });

  it.skipIf(!numpy)(needsNumpy('answers a flag, a missing folder or one without fold results with its usage'), () => {
    const empty = join(dir(), 'empty');
    mkdirSync(empty);
    for (const args of [['--help'], [join(dir(), 'absent')], [], [empty]]) {
      const r = run(...args);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(/usage: seed_ensemble\.py DIR/);
    }
  });
});

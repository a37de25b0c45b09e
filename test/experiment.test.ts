// The SER protocol end to end on a small slice of the synthetic corpus: the model learns well above chance on
// held-out speakers, a run killed mid-training resumes to exactly the result of an uninterrupted one, and a run's
// results name the source revision that trained each fold.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init } from '../src/engine/context.js';
import { compactModelConfig } from '../src/model/config.js';
import { runExperiment } from '../src/train/experiment.js';
import { generateSyntheticCorpus } from '../src/train/synthetic.js';
import { DEFAULT_TRAIN_OPTIONS } from '../src/train/trainer.js';
import { cliForTests } from './cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ser-experiment-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('speaker-independent training on a synthetic slice', () => {
  it('reaches a UA well above chance (25%) on held-out speakers, and scores the gender head there', async () => {
    await init();
    const corpus = generateSyntheticCorpus({ speakers: 8, utterancesPerEmotion: 3, seconds: 1, seed: 3 });
    const result = await runExperiment({
      corpusName: corpus.name,
      classes: corpus.classes,
      utterances: corpus.utterances,
      modelConfig: compactModelConfig,
      train: { ...DEFAULT_TRAIN_OPTIONS, epochs: 8, patience: 8, batchSize: 8 },
      folds: { kind: 'kfold', k: 4 },
      conditions: ['concat'],
      outDir: join(dir, 'slice'),
      resume: false,
      finalModel: false,
    });
    const summary = result.conditions.concat!;
    // Every utterance of every speaker is tested exactly once.
    expect(summary.report.confusion.flat().reduce((a, b) => a + b, 0)).toBe(corpus.utterances.length);
    expect(summary.report.ua).toBeGreaterThan(0.45); // measured 0.58 on lavapipe
    // The gender head is scored on the held-out speakers; it is near chance there (0.55 measured), since
    // per-speaker normalisation takes each speaker's mean voice, and with it most of the gender, out of the
    // features it reads (see README, "Results on EMO-DB").
    expect(summary.genderHeadAccuracy).toBeGreaterThanOrEqual(0);
    expect(summary.genderHeadAccuracy).toBeLessThanOrEqual(1);
  });
});

// The CLI as a user runs it (built from this source: test/cli.ts), killed with SIGKILL while the first fold is
// between epochs.
const demoArgs = (out: string) => ['demo', '--speakers', '6', '--utterances', '2', '--epochs', '4', '--folds', '3', '--no-gender', '--out', out, '--json'];

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!);

describe('runs of the ser command', () => {
  const cli = cliForTests();

  it('killed mid-fold, resumes from its checkpoints and ends exactly where an uninterrupted run ends', async () => {
    const whole = await cli.run(demoArgs(join(dir, 'whole')));
    expect(whole.code).toBe(0);

    const out = join(dir, 'killed');
    const killed = await cli.run(demoArgs(out), { killWhen: () => existsSync(join(out, 'fold1-none.safetensors')) });
    expect(killed.signal).toBe('SIGKILL');
    expect(existsSync(join(out, 'fold1-none.json'))).toBe(false); // killed inside the first fold

    const resumed = await cli.run([...demoArgs(out), '--resume']);
    expect(resumed.code).toBe(0);
    expect(lastJson(resumed.stdout)).toEqual(lastJson(whole.stdout));
  });

  it('records the source revision that trained each fold; a fold result of an older version counts as unrecorded', async () => {
    const out = join(dir, 'sources');
    const first = await cli.run(demoArgs(out));
    expect(first.code).toBe(0);
    const sources = lastJson(first.stdout).sources as Record<string, number>;
    const [revision] = Object.keys(sources);
    expect(sources).toEqual({ [revision]: 3 });
    const head = (() => {
      try {
        return execFileSync('git', ['rev-parse', '--short=7', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      } catch {
        return null; // not a git checkout: the build records none
      }
    })();
    if (head) expect(revision).toMatch(new RegExp(`^${head}(\\+changes)?$`));
    else expect(revision).toBe('unrecorded');
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain(`- trained with: ${revision} (3 folds)`);

    const foldFile = join(out, 'fold2-none.json');
    const fold = JSON.parse(readFileSync(foldFile, 'utf8'));
    expect(fold.source).toBe(head ? revision : null);
    delete fold.source;
    writeFileSync(foldFile, JSON.stringify(fold));
    const resumed = await cli.run([...demoArgs(out), '--resume']);
    expect(resumed.code).toBe(0);
    expect(lastJson(resumed.stdout).sources).toEqual(head ? { [revision]: 2, unrecorded: 1 } : { unrecorded: 3 });
  });
});

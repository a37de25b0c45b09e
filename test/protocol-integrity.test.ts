// The evaluation protocol's integrity, with training and prediction replaced by recorders (no network is
// trained): what each fold's training, early stopping and test actually receive. It would catch a test speaker
// leaking into training or validation, adaptation reading another speaker's audio, the ablation's two designs
// seeing different data, seeds or order, and a result pooled from other utterances than the test speakers'.

import { describe, expect, it, vi } from 'vitest';
import { compactModelConfig } from '../src/model/config.js';
import type { Example, UnscoredExample } from '../src/train/dataset.js';
import { runExperiment } from '../src/train/experiment.js';
import { generateSyntheticCorpus } from '../src/train/synthetic.js';
import { tempDirForTests } from './temp-dir.js';
import { tinyExperiment } from './tiny-experiment.js';

interface FitCall {
  useGender: boolean;
  seed: number;
  train: string[];
  validation: string[];
  validationUnscored: string[];
}
interface PredictCall {
  examples: Example[];
  unscored: string[];
}
const calls = vi.hoisted(() => ({ fit: [] as FitCall[], predict: [] as PredictCall[] }));

vi.mock('../src/train/trainer.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../src/train/trainer.js')>();
  return {
    ...original,
    fit: async (config: { useGender: boolean }, train: Example[], validation: { examples: Example[]; unscored?: UnscoredExample[] }, options: { seed: number }) => {
      calls.fit.push({
        useGender: config.useGender,
        seed: options.seed,
        // Files in the order given: the order is part of what the two designs must share.
        train: train.map((e) => e.file),
        validation: validation.examples.map((e) => e.file),
        validationUnscored: (validation.unscored ?? []).map((e) => e.file),
      });
      return { model: { config, dispose: () => undefined }, history: [], bestEpoch: 1 };
    },
  };
});
vi.mock('../src/train/evaluate.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../src/train/evaluate.js')>();
  return {
    ...original,
    predictExamples: async (_model: unknown, examples: Example[], options: { unscored?: UnscoredExample[] }) => {
      calls.predict.push({ examples, unscored: (options.unscored ?? []).map((e) => e.file) });
      // Right for every second utterance, so that the pooled counts show which utterances were scored.
      return examples.map((e, i) => ({ predicted: i % 2 ? e.label : (e.label + 1) % 4, probabilities: [], predictedGender: e.gender, genderProbabilities: [] }));
    },
  };
});

// The final model's stand-in has no weights to write.
vi.mock('../src/model/model-file.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../src/model/model-file.js')>()),
  encodeModel: async () => new Uint8Array(0),
}));

const dir = tempDirForTests('ser-protocol-');

describe('the speaker-independent protocol, as runExperiment wires it', () => {
  it('keeps test speakers out of training, validation and model selection, and gives both designs the same data, seed and order', async () => {
    calls.fit.length = 0;
    calls.predict.length = 0;
    const corpus = generateSyntheticCorpus({ speakers: 6, utterancesPerEmotion: 1, seconds: 1, seed: 5 });
    // Unscored audio (utterances outside the classes) of every speaker: only a fold's own test speaker's may be
    // read by its adaptation, and only a validation speaker's by early stopping.
    const unscored = corpus.utterances.filter((u) => u.emotion === 'angry').map((u) => ({ ...u, file: `unscored-${u.file}`, emotion: 'other' }));
    const speakerOf = new Map([...corpus.utterances, ...unscored].map((u) => [u.file, u.speaker]));
    const speakers = (files: string[]) => new Set(files.map((f) => speakerOf.get(f)!));
    const result = await runExperiment(
      tinyExperiment(corpus, compactModelConfig, dir(), {
        unscored,
        folds: { kind: 'loso' },
        validationSpeakers: 1,
        conditions: ['concat', 'none'],
        finalModel: true,
        train: { ...tinyExperiment(corpus, compactModelConfig, dir()).train, seed: 3 },
      }),
    );
    const folds = result.folds;
    expect(folds).toHaveLength(6);
    // Per design, one fit per fold (in fold order), then the final model's.
    expect(calls.fit).toHaveLength(2 * folds.length + 1);
    expect(calls.predict).toHaveLength(2 * folds.length);
    const [concat, none] = [calls.fit.slice(0, folds.length), calls.fit.slice(folds.length, 2 * folds.length)];

    folds.forEach((fold, i) => {
      const test = new Set(fold.testSpeakers);
      for (const [design, fits, predict] of [
        ['concat', concat, calls.predict[i]],
        ['none', none, calls.predict[folds.length + i]],
      ] as const) {
        const fit = fits[i];
        // Training and early stopping read no test speaker, and each reads exactly its own speakers.
        expect([...speakers(fit.train)].filter((s) => test.has(s)), `${design} fold ${i + 1} trains on a test speaker`).toEqual([]);
        expect([...speakers(fit.validation), ...speakers(fit.validationUnscored)].filter((s) => test.has(s)), `${design} fold ${i + 1} validates on a test speaker`).toEqual([]);
        expect([...speakers(fit.train)].sort()).toEqual([...fold.trainSpeakers].sort());
        expect([...speakers(fit.validation)]).toEqual(fold.validationSpeakers);
        expect([...speakers(fit.validationUnscored)]).toEqual(fold.validationSpeakers);
        // The test is every scored utterance of the test speakers and nothing else; adaptation may read their
        // unscored audio and no one else's.
        const expected = corpus.utterances.filter((u) => test.has(u.speaker)).map((u) => u.file);
        expect(predict.examples.map((e) => e.file)).toEqual(expected);
        expect(predict.unscored.length).toBeGreaterThan(0);
        expect([...speakers(predict.unscored)]).toEqual(fold.testSpeakers);
      }
      // The ablation: the designs differ in the gender input alone, not in the data, its order or the seed.
      expect(concat[i].useGender).toBe(true);
      expect(none[i].useGender).toBe(false);
      expect({ ...none[i], useGender: true }).toEqual(concat[i]);
    });

    // Every utterance is tested exactly once per design, and the pooled matrix counts what predictExamples said.
    for (const design of ['concat', 'none'] as const) {
      const c = result.conditions[design]!;
      expect(c.report.n).toBe(corpus.utterances.length);
      const right = calls.predict.slice(design === 'concat' ? 0 : folds.length).slice(0, folds.length).reduce((sum, p) => sum + Math.floor(p.examples.length / 2), 0);
      expect(c.report.wa).toBeCloseTo(right / corpus.utterances.length, 12);
      expect(c.perFold.map((f) => f.n)).toEqual(folds.map((f) => corpus.utterances.filter((u) => f.testSpeakers.includes(u.speaker)).length));
    }

    // The final model: every speaker but fold 1's validation speakers trains it, and those choose its epoch.
    const final = calls.fit.at(-1)!;
    expect([...speakers(final.validation)]).toEqual(folds[0].validationSpeakers);
    expect([...speakers(final.train)].filter((s) => folds[0].validationSpeakers.includes(s))).toEqual([]);
    expect(speakers(final.train).size).toBe(6 - folds[0].validationSpeakers.length);
  });
});

// Per-speaker normalisation adapts to all of a test speaker's audio, the utterances outside the classes too
// (IEMOCAP's frustrated and no-majority ones here), and scores only the kept ones: in evaluation and in the
// folds of `ser train`. On an IEMOCAP fixture tree whose excluded utterances differ in band levels from the
// kept ones (loading sets every utterance to unit RMS, so the difference is in the spectrum: 3 kHz against
// 200-300 Hz), so that the statistics tell whether they were read.

import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { init } from '../src/engine/context.js';
import type { ArrayTensor } from '../src/engine/module.js';
import { adaptNormalization, restoreNormalization } from '../src/model/adapt.js';
import { compactModelConfig } from '../src/model/config.js';
import { genderOneHot, SerModel } from '../src/model/ser-model.js';
import { loadCorpusAudio, readCorpus } from '../src/train/corpora/index.js';
import { toExamples, toUnscored } from '../src/train/dataset.js';
import { predictExamples } from '../src/train/evaluate.js';
import { runExperiment, type ExperimentInput } from '../src/train/experiment.js';
import { writeIemocapTree } from './iemocap-fixture.js';
import { tempDirForTests } from './temp-dir.js';
import { tinyExperiment } from './tiny-experiment.js';

// Every adaptation, with how many windows it read and the statistics it left.
const adaptations = vi.hoisted(() => [] as { windows: number; state: Record<string, ArrayTensor> }[]);
vi.mock('../src/model/adapt.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../src/model/adapt.js')>();
  return {
    ...original,
    adaptNormalization: async (...args: Parameters<typeof original.adaptNormalization>) => {
      const saved = await original.adaptNormalization(...args);
      adaptations.push({ windows: args[1].windows.length, state: await original.normalizationState(args[0]) });
      return saved;
    },
  };
});

const dir = tempDirForTests('ser-evaluate-');
const firstMean = (state: Record<string, ArrayTensor>) => Object.entries(state).find(([name]) => name.endsWith('running_mean'))![1].data;

describe('adaptation reads the unscored utterances of a test speaker', () => {
  it('predictExamples adapts to the kept and excluded utterances together, and scores the kept ones', async () => {
    await init({ backend: 'cpu' });
    const corpus = await readCorpus('iemocap', await writeIemocapTree(join(dir(), 'iemocap')));
    const loaded = await loadCorpusAudio(corpus, { sampleRate: 16000 });
    const config = compactModelConfig(corpus.classes);
    const model = new SerModel(config, 3);
    const own = toExamples(loaded.utterances, corpus.classes, config.windowSamples).filter((e) => e.speaker === 'Ses01F');
    const unscored = toUnscored(loaded.unscored, config.windowSamples);
    const extra = unscored.filter((e) => e.speaker === 'Ses01F');
    expect([own.length, extra.length]).toEqual([2, 2]);

    adaptations.length = 0;
    const predictions = await predictExamples(model, own, { useTrueGender: true, unscored });
    expect(predictions.length).toBe(2);
    expect(adaptations.map((a) => a.windows)).toEqual([4]);
    const used = firstMean(adaptations[0].state);
    // The same statistics as adapting to all four utterances, and far from the kept two's.
    const adaptTo = async (examples: typeof extra) => {
      const windows = examples.flatMap((e) => e.windows);
      restoreNormalization(model, await adaptNormalization(model, { windows, genders: windows.map(() => genderOneHot(0)) }));
      return firstMean(adaptations.at(-1)!.state);
    };
    const all = await adaptTo([...own, ...extra]);
    const kept = await adaptTo(own);
    used.forEach((v, i) => expect(v).toBeCloseTo(all[i], 4));
    expect(Math.max(...used.map((v, i) => Math.abs(v - kept[i])))).toBeGreaterThan(0.5);
    model.dispose();
  });

  /** ser train's five folds of the fixture's sessions, design none, with `overrides`; the adaptations recorded
   * are this experiment's alone. */
  async function foldsOfFixture(out: string, overrides: Partial<ExperimentInput> = {}) {
    await init({ backend: 'cpu' });
    const corpus = await readCorpus('iemocap', await writeIemocapTree(join(dir(), `${out}-iemocap`)));
    const loaded = await loadCorpusAudio(corpus, { sampleRate: 16000 });
    adaptations.length = 0;
    const input = tinyExperiment({ name: corpus.name, classes: corpus.classes, utterances: loaded.utterances }, compactModelConfig, join(dir(), out), {
      unscored: loaded.unscored,
      folds: { kind: 'kfold', k: 5 },
      conditions: ['none'],
      ...overrides,
    });
    return { input, result: await runExperiment(input) };
  }

  it("a fold of ser train adapts each test speaker to the excluded utterances as well", async () => {
    const { result } = await foldsOfFixture('run');
    expect(result.conditions.none!.report.confusion.flat().reduce((a, b) => a + b, 0)).toBe(20); // kept utterances only
    // 5 folds × 2 test speakers, each adapted to 2 kept and 2 excluded windows.
    expect(adaptations.map((a) => a.windows)).toEqual(Array(10).fill(4));
  });

  it('validation speakers adapt to their excluded utterances too, as the test speakers will', async () => {
    const { input } = await foldsOfFixture('run-validated', { validationSpeakers: 1 });
    // Per fold, each epoch's validation of one held-out session (2 speakers), then its 2 test speakers: every
    // adaptation reads a speaker's 2 kept and 2 excluded windows.
    const epochs = input.train.epochs;
    expect(adaptations.length).toBe(5 * (2 * epochs + 2));
    expect(adaptations.map((a) => a.windows)).toEqual(Array(adaptations.length).fill(4));
  });
});

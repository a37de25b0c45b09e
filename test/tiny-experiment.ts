// The smallest real training run, for the tests that need its checkpoints, records or refusals: one epoch over
// three speaker folds of a small synthetic corpus, one design, no final model, warnings kept quiet.

import type { ModelConfig } from '../src/model/config.js';
import type { ExperimentInput } from '../src/train/experiment.js';
import { DEFAULT_TRAIN_OPTIONS } from '../src/train/trainer.js';

/** A model of two small blocks on quarter-second windows, for the training tests: seconds a run on lavapipe. */
export const tinyModel = (classes: string[], overrides: Partial<ModelConfig> = {}): ModelConfig => ({
  sampleRate: 16000,
  windowSamples: 4000,
  blocks: [
    { channels: 4, kernel: 16, stride: 4, pool: 4 },
    { channels: 8, kernel: 3, stride: 1, pool: 1 },
  ],
  hidden: 0,
  dropout: 0,
  useGender: true,
  classes,
  ...overrides,
});

/** `corpus` is what generateSyntheticCorpus returns. */
export function tinyExperiment(
  corpus: { name: string; classes: string[]; utterances: ExperimentInput['utterances'] },
  modelConfig: ExperimentInput['modelConfig'],
  outDir: string,
  overrides: Partial<ExperimentInput> = {},
): ExperimentInput {
  return {
    corpusName: corpus.name,
    classes: corpus.classes,
    utterances: corpus.utterances,
    modelConfig,
    train: { ...DEFAULT_TRAIN_OPTIONS, epochs: 1, batchSize: 8 },
    folds: { kind: 'kfold', k: 3 },
    conditions: ['concat'],
    outDir,
    resume: false,
    finalModel: false,
    warn: () => undefined,
    ...overrides,
  };
}

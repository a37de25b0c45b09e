// The smallest real training run, for the tests that need its checkpoints, records or refusals: one epoch over
// three speaker folds of a small synthetic corpus, one design, no final model, warnings kept quiet.

import type { ExperimentInput } from '../src/train/experiment.js';
import { DEFAULT_TRAIN_OPTIONS } from '../src/train/trainer.js';

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

// The speaker-independent protocol: for each fold (speakers held out for test, others for training and, if
// asked, validation), train the network under each gender design (a fusion of the gender input, and 'none')
// on the same split, evaluate each on the held-out speakers, and pool the confusion matrices over folds. Each fold's model is checkpointed every epoch
// and each finished fold's predictions are saved, so `resume` continues a killed run where it stopped.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { withGenderDesign, type GenderDesign, type ModelConfig } from '../model/config.js';
import { decodeModel, encodeModel } from '../model/model-file.js';
import type { SerModel } from '../model/ser-model.js';
import type { LoadedUtterance } from './audio.js';
import type { NamedTensor } from './checkpoint.js';
import { writeFileAtomic } from './checkpoint-file.js';
import { toExamples, type Example } from './dataset.js';
import { predictExamples } from './evaluate.js';
import { speakerFolds, type Fold, type FoldScheme } from './folds.js';
import { accuracy, classificationReport, mergeReports, type ClassificationReport } from './metrics.js';
import { fit, type EpochRecord, type TrainHooks, type TrainingState, type TrainOptions } from './trainer.js';

export type Condition = GenderDesign;

export interface ExperimentInput {
  corpusName: string;
  classes: string[];
  utterances: LoadedUtterance[];
  modelConfig: (classes: string[]) => ModelConfig;
  train: TrainOptions;
  folds: FoldScheme;
  /** Seed of the speaker split; by default the training seed (`--seeds` keeps one split for every seed). */
  splitSeed?: number;
  /** Speakers per fold drawn from the training speakers for early stopping; 0 (default) trains a fixed number
   * of epochs. Test speakers are never used to choose anything. */
  validationSpeakers?: number;
  conditions: Condition[];
  outDir: string;
  resume: boolean;
  /** Train one more model on all speakers (minus validation speakers) and save it as model.safetensors. */
  finalModel: boolean;
  /** false: skip the cross-validation and train only the final model. Default true. */
  crossValidate?: boolean;
  progress?: (event: ProgressEvent) => void;
}

export type ProgressEvent =
  | { kind: 'start'; fold: number; folds: number; condition: Condition; epochs: number; windows: number; resumedAt: number }
  | { kind: 'batch'; epoch: number; done: number; total: number }
  | { kind: 'epoch'; record: EpochRecord }
  | { kind: 'done'; fold: number; condition: Condition; report: ClassificationReport; reused: boolean };

interface FoldOutcome {
  truth: number[];
  predicted: number[];
  genderTruth: number[];
  genderPredicted: number[];
  history: EpochRecord[];
  bestEpoch: number;
}

export interface ConditionSummary {
  report: ClassificationReport;
  perFold: ClassificationReport[];
  /** Accuracy of the jointly trained gender head on the held-out speakers (undefined for 'none': untrained). */
  genderHeadAccuracy?: number;
  histories: EpochRecord[][];
}

export interface ExperimentResult {
  corpus: string;
  classes: string[];
  folds: Fold[];
  conditions: Partial<Record<Condition, ConditionSummary>>;
  modelPath?: string;
}

export async function runExperiment(input: ExperimentInput): Promise<ExperimentResult> {
  await mkdir(input.outDir, { recursive: true });
  const speakers = [...new Map(input.utterances.map((u) => [u.speaker, { id: u.speaker, gender: u.gender }])).values()];
  const folds = speakerFolds(speakers, input.folds, { seed: input.splitSeed ?? input.train.seed, validationSpeakers: input.validationSpeakers ?? 0 });
  const base = input.modelConfig(input.classes);
  const examples = toExamples(input.utterances, input.classes, base.windowSamples);
  const conditions: ExperimentResult['conditions'] = {};
  for (const condition of input.crossValidate === false ? [] : input.conditions) {
    const outcomes: FoldOutcome[] = [];
    for (const fold of folds) outcomes.push(await runFold(input, fold, folds.length, condition, examples));
    const perFold = outcomes.map((o) => classificationReport(o.truth, o.predicted, input.classes));
    conditions[condition] = {
      report: mergeReports(perFold),
      perFold,
      genderHeadAccuracy: condition === 'none' ? undefined : accuracy(outcomes.flatMap((o) => o.genderTruth), outcomes.flatMap((o) => o.genderPredicted)),
      histories: outcomes.map((o) => o.history),
    };
  }
  const result: ExperimentResult = { corpus: input.corpusName, classes: input.classes, folds, conditions };
  if (input.finalModel) result.modelPath = await trainFinalModel(input, folds[0], examples);
  return result;
}

function split(examples: Example[], fold: Fold) {
  const of = (ids: string[]) => examples.filter((e) => ids.includes(e.speaker));
  return { train: of(fold.trainSpeakers), validation: of(fold.validationSpeakers), test: of(fold.testSpeakers) };
}

async function runFold(input: ExperimentInput, fold: Fold, foldCount: number, condition: Condition, examples: Example[]): Promise<FoldOutcome> {
  const name = `fold${fold.index + 1}-${condition}`;
  const resultPath = join(input.outDir, `${name}.json`);
  const checkpointPath = join(input.outDir, `${name}.safetensors`);
  const classes = input.classes;
  if (input.resume && existsSync(resultPath)) {
    const outcome = JSON.parse(await readFile(resultPath, 'utf8')) as FoldOutcome;
    input.progress?.({ kind: 'done', fold: fold.index, condition, report: classificationReport(outcome.truth, outcome.predicted, classes), reused: true });
    return outcome;
  }
  const config = withGenderDesign(input.modelConfig(classes), condition);
  const train = designTraining(input.train, condition);
  const data = split(examples, fold);
  const resumeFrom = input.resume && existsSync(checkpointPath) ? await loadTrainingCheckpoint(checkpointPath) : undefined;
  input.progress?.({ kind: 'start', fold: fold.index, folds: foldCount, condition, epochs: input.train.epochs, windows: data.train.reduce((s, e) => s + e.windows.length, 0), resumedAt: resumeFrom?.state.epoch ?? 0 });
  const hooks: TrainHooks = {
    onBatch: (epoch, done, total) => input.progress?.({ kind: 'batch', epoch, done, total }),
    onEpoch: (record) => input.progress?.({ kind: 'epoch', record }),
    saveCheckpoint: (model, state) => saveTrainingCheckpoint(checkpointPath, model, state),
  };
  const { model, history, bestEpoch } = await fit(config, data.train, data.validation, train, hooks, resumeFrom);
  // Scores use the true gender where the model takes it; the gender head is scored on its own.
  const predictions = await predictExamples(model, data.test, { useTrueGender: true });
  model.dispose();
  const outcome: FoldOutcome = {
    truth: data.test.map((e) => e.label),
    predicted: predictions.map((p) => p.predicted),
    genderTruth: data.test.map((e) => e.gender),
    genderPredicted: predictions.map((p) => p.predictedGender),
    history,
    bestEpoch,
  };
  await writeFileAtomic(resultPath, new TextEncoder().encode(JSON.stringify(outcome)));
  input.progress?.({ kind: 'done', fold: fold.index, condition, report: classificationReport(outcome.truth, outcome.predicted, classes), reused: false });
  return outcome;
}

/** The first design asked for (the fusion under test) is the one the final model is trained with. */
async function trainFinalModel(input: ExperimentInput, fold: Fold, examples: Example[]): Promise<string> {
  const design = input.conditions[0];
  const config = withGenderDesign(input.modelConfig(input.classes), design);
  const validation = examples.filter((e) => fold.validationSpeakers.includes(e.speaker));
  const train = examples.filter((e) => !fold.validationSpeakers.includes(e.speaker));
  input.progress?.({ kind: 'start', fold: -1, folds: 0, condition: design, epochs: input.train.epochs, windows: train.reduce((s, e) => s + e.windows.length, 0), resumedAt: 0 });
  const { model } = await fit(config, train, validation, designTraining(input.train, design), {
    onBatch: (epoch, done, total) => input.progress?.({ kind: 'batch', epoch, done, total }),
    onEpoch: (record) => input.progress?.({ kind: 'epoch', record }),
  });
  const path = join(input.outDir, 'model.safetensors');
  await writeFileAtomic(path, await encodeModel(model, {}, { corpus: input.corpusName }));
  model.dispose();
  return path;
}

/** 'none' trains no gender head: its loss weight is 0. */
function designTraining(options: TrainOptions, design: GenderDesign): TrainOptions {
  return design === 'none' ? { ...options, genderLossWeight: 0 } : options;
}

// ------------------------------------------------------------------------------------------------ checkpoints

async function saveTrainingCheckpoint(path: string, model: SerModel, state: TrainingState): Promise<void> {
  const extra: Record<string, NamedTensor> = {};
  state.optimizer.m.forEach((m, i) => (extra[`optimizer.m.${i}`] = { shape: [m.length], data: m }));
  state.optimizer.v.forEach((v, i) => (extra[`optimizer.v.${i}`] = { shape: [v.length], data: v }));
  for (const [name, t] of Object.entries(state.best)) extra[`best.${name}`] = t;
  const { epoch, bestEpoch, bestUa, history, optimizer } = state;
  const meta = { training: JSON.stringify({ epoch, bestEpoch, bestUa, history, optimizerStep: optimizer.step, moments: optimizer.m.length }) };
  await writeFileAtomic(path, await encodeModel(model, extra, meta));
}

async function loadTrainingCheckpoint(path: string) {
  const { model, extra, metadata } = decodeModel(new Uint8Array(await readFile(path)), path);
  const training = JSON.parse(metadata.training ?? 'null') as (Omit<TrainingState, 'optimizer' | 'best'> & { optimizerStep: number; moments: number }) | null;
  if (!training) throw new Error(`${path}: checkpoint has no training state to resume from`);
  const weights = await model.stateDict();
  model.dispose();
  const best: TrainingState['best'] = {};
  for (const [name, t] of Object.entries(extra)) if (name.startsWith('best.')) best[name.slice(5)] = t;
  const { optimizerStep, moments, ...rest } = training;
  const momentsOf = (kind: 'm' | 'v') =>
    Array.from({ length: moments }, (_, i) => {
      const name = `optimizer.${kind}.${i}`;
      if (!extra[name]) throw new Error(`${path}: checkpoint has no ${name} to resume from`);
      return extra[name].data;
    });
  return { weights, state: { ...rest, best, optimizer: { step: optimizerStep, m: momentsOf('m'), v: momentsOf('v') } } };
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, JSON.stringify(value, null, 2));
}

// The speaker-independent protocol: for each fold (speakers held out for test, others for training and, if
// asked, validation), train the network under each gender design (a fusion of the gender input, and 'none')
// on the same split, evaluate each on the held-out speakers, and pool the confusion matrices over folds. Each
// fold's model (and the final model) is checkpointed every epoch and each finished fold's predictions are saved,
// so `resume` continues a killed run where it stopped, and only the run it is (run-record.ts). One run at a time
// writes in a folder (folder-lock.ts), and never over another run's files unless told to (`overwrite`).

import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { withGenderDesign, type GenderDesign, type ModelConfig } from '../model/config.js';
import { decodeModel, encodeModel, singleNetwork } from '../model/model-file.js';
import type { SerModel } from '../model/ser-model.js';
import type { LoadedUtterance } from './corpora/types.js';
import type { NamedTensor } from '../io/safetensors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { readCheckpointFile } from '../io/safetensors-file.js';
import { toExamples, toUnscored, type Example, type UnscoredExample } from './dataset.js';
import { argmax, predictExamples, type UtterancePrediction } from './evaluate.js';
import { corpusSpeakers, speakerFolds, type Fold, type FoldScheme } from './folds.js';
import { accuracy, classificationReport, mergeReports, type ClassificationReport } from './metrics.js';
import { prepareOutputDir } from '../io/out-dir.js';
import { lockFolder, removeStaleTemps } from '../io/folder-lock.js';
import { firstFew } from '../io/listing.js';
import { startRun, type RunRecord } from './run-record.js';
import { SOURCE_REVISION } from './source-revision.js';
import { fit, type EpochRecord, type TrainHooks, type TrainingState, type TrainOptions } from './trainer.js';

export type Condition = GenderDesign;

export interface ExperimentInput {
  corpusName: string;
  classes: string[];
  utterances: LoadedUtterance[];
  /** Utterances outside the classes (Corpus.unscored): only a test speaker's normalisation reads them. */
  unscored?: LoadedUtterance[];
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
  /** Replace the run outDir holds (its files are removed first); without it, a run that is not a resume is
   * refused in a folder that holds another run. Not with resume. */
  overwrite?: boolean;
  /** Train one more model on all speakers (minus validation speakers) and save it as model.safetensors. */
  finalModel: boolean;
  /** false: skip the cross-validation and train only the final model. Default true. */
  crossValidate?: boolean;
  progress?: (event: ProgressEvent) => void;
  /** Writes the run's report into outDir, still holding its lock (a run starting there waits for the report). */
  report?: (result: ExperimentResult) => Promise<void>;
  /** Called holding outDir's lock, before the run is recorded: refuses, or with overwrite removes, what else the
   * folder holds (the seed folders of a --seeds run, cli/seed-folders.ts). */
  clearFolder?: () => Promise<void>;
  /** Messages about what a resume could not reuse, a stale lock or temp files removed (default: printed to stderr). */
  warn?: (message: string) => void;
}

export type ProgressEvent =
  | { kind: 'start'; fold: number; folds: number; condition: Condition; epochs: number; windows: number; resumedAt: number }
  | { kind: 'batch'; epoch: number; done: number; total: number }
  | { kind: 'epoch'; record: EpochRecord }
  | { kind: 'done'; fold: number; condition: Condition; report: ClassificationReport; reused: boolean };

interface FoldOutcome {
  /** The id of the run that wrote it (absent in files of older versions). */
  run?: string;
  truth: number[];
  predicted: number[];
  /** Per test utterance, the emotion probabilities `predicted` is the argmax of: what an ensemble of the seeds
   * averages (scripts/seed_ensemble.py). Absent in files of older versions. */
  probabilities?: number[][];
  genderTruth: number[];
  genderPredicted: number[];
  history: EpochRecord[];
  bestEpoch: number;
  /** The source revision that trained it (SOURCE_REVISION; absent in files of older versions). */
  source?: string | null;
}

export interface ConditionSummary {
  report: ClassificationReport;
  perFold: ClassificationReport[];
  /** Accuracy of the jointly trained gender head on the held-out speakers (undefined for 'none': untrained). */
  genderHeadAccuracy?: number;
  histories: EpochRecord[][];
  /** Each fold's source revision (null or undefined: not recorded). */
  sources: (string | null | undefined)[];
}

export interface ExperimentResult {
  corpus: string;
  classes: string[];
  folds: Fold[];
  conditions: Partial<Record<Condition, ConditionSummary>>;
  modelPath?: string;
}

export async function runExperiment(input: ExperimentInput): Promise<ExperimentResult> {
  checkCorpus(input.utterances, input.classes);
  await prepareOutputDir(input.outDir);
  const folds = speakerFolds(corpusSpeakers(input.utterances), input.folds, { seed: input.splitSeed ?? input.train.seed, validationSpeakers: input.validationSpeakers ?? 0 });
  const base = input.modelConfig(input.classes);
  const examples = toExamples(input.utterances, input.classes, base.windowSamples);
  const unscored = toUnscored(input.unscored ?? [], base.windowSamples);
  // Only a run that can start is recorded: a command refused here (--folds 5 for 4 speakers) had already replaced
  // the run.json of the run in the folder, whose --resume was then refused and its checkpoints orphaned.
  const warn = input.warn ?? ((message: string) => console.error(message));
  const lock = await lockFolder(input.outDir, warn);
  try {
    await input.clearFolder?.();
    const run = await startRun(input);
    await removeStaleTemps(input.outDir, warn);
    const conditions: ExperimentResult['conditions'] = {};
    for (const condition of input.crossValidate === false ? [] : input.conditions) {
      const outcomes: FoldOutcome[] = [];
      for (const fold of folds) outcomes.push(await runFold(input, run, fold, folds.length, condition, examples, unscored));
      const perFold = outcomes.map((o) => classificationReport(o.truth, o.predicted, input.classes));
      conditions[condition] = {
        report: mergeReports(perFold),
        perFold,
        genderHeadAccuracy: condition === 'none' ? undefined : accuracy(outcomes.flatMap((o) => o.genderTruth), outcomes.flatMap((o) => o.genderPredicted)),
        histories: outcomes.map((o) => o.history),
        sources: outcomes.map((o) => o.source),
      };
    }
    const result: ExperimentResult = { corpus: input.corpusName, classes: input.classes, folds, conditions };
    if (input.finalModel) result.modelPath = await trainFinalModel(input, run, folds[0], examples, unscored);
    await input.report?.(result);
    return result;
  } finally {
    await lock.release();
  }
}

/** A fold's training, validation and test speakers' items (scored examples, or unscored audio). */
function split<T extends { speaker: string }>(items: T[], fold: Fold) {
  const of = (ids: string[]) => items.filter((e) => ids.includes(e.speaker));
  return { train: of(fold.trainSpeakers), validation: of(fold.validationSpeakers), test: of(fold.testSpeakers) };
}

async function runFold(input: ExperimentInput, run: RunRecord, fold: Fold, foldCount: number, condition: Condition, examples: Example[], unscored: UnscoredExample[]): Promise<FoldOutcome> {
  const name = `fold${fold.index + 1}-${condition}`;
  const resultPath = join(input.outDir, `${name}.json`);
  const checkpointPath = join(input.outDir, `${name}.safetensors`);
  const classes = input.classes;
  const warn = input.warn ?? ((message: string) => console.error(message));
  const data = split(examples, fold);
  const unheard = split(unscored, fold);
  if (input.resume && existsSync(resultPath)) {
    // A damaged result, or one another run left in this folder, is treated as absent: the fold is trained again.
    try {
      const outcome = await readFoldResult(resultPath, data.test, classes.length);
      if (!run.owns(outcome.run)) throw new Error(`${resultPath}: written by another run (id ${outcome.run}, this run is ${run.id})`);
      input.progress?.({ kind: 'done', fold: fold.index, condition, report: classificationReport(outcome.truth, outcome.predicted, classes), reused: true });
      return outcome;
    } catch (e) {
      warn(`${(e as Error).message}; training ${name} again`);
    }
  }
  const config = withGenderDesign(input.modelConfig(classes), condition);
  const train = designTraining(input.train, condition);
  const resumeFrom = await resumeState(input, run, checkpointPath, name);
  input.progress?.({ kind: 'start', fold: fold.index, folds: foldCount, condition, epochs: input.train.epochs, windows: data.train.reduce((s, e) => s + e.windows.length, 0), resumedAt: resumeFrom?.state.epoch ?? 0 });
  const { model, history, bestEpoch } = await fit(config, data.train, { examples: data.validation, unscored: unheard.validation }, train, trainingHooks(input, run, checkpointPath), resumeFrom);
  let predictions: UtterancePrediction[];
  try {
    // Scores use the true gender where the model takes it; the gender head is scored on its own.
    predictions = await predictExamples(model, data.test, { useTrueGender: true, unscored: unheard.test });
  } finally {
    // At once, failed or not: the finalizer would free the model's device memory only at some collection.
    model.dispose();
  }
  const outcome: FoldOutcome = {
    run: run.id,
    truth: data.test.map((e) => e.label),
    predicted: predictions.map((p) => p.predicted),
    probabilities: predictions.map((p) => p.probabilities),
    genderTruth: data.test.map((e) => e.gender),
    genderPredicted: predictions.map((p) => p.predictedGender),
    history,
    bestEpoch,
    source: SOURCE_REVISION,
  };
  await writeFileAtomic(resultPath, new TextEncoder().encode(JSON.stringify(outcome)));
  input.progress?.({ kind: 'done', fold: fold.index, condition, report: classificationReport(outcome.truth, outcome.predicted, classes), reused: false });
  return outcome;
}

/** The first design asked for (the fusion under test) is the one the final model is trained with. Checkpointed
 * every epoch as a fold is (final-<design>.safetensors, kept as the folds' are), so a resume continues it too. */
async function trainFinalModel(input: ExperimentInput, run: RunRecord, fold: Fold, examples: Example[], unscored: UnscoredExample[]): Promise<string> {
  const design = input.conditions[0];
  const config = withGenderDesign(input.modelConfig(input.classes), design);
  const held = (e: { speaker: string }) => fold.validationSpeakers.includes(e.speaker);
  const validation = { examples: examples.filter(held), unscored: unscored.filter(held) };
  const train = examples.filter((e) => !held(e));
  const name = `final-${design}`;
  const checkpointPath = join(input.outDir, `${name}.safetensors`);
  const resumeFrom = await resumeState(input, run, checkpointPath, `the final model (${name})`);
  input.progress?.({ kind: 'start', fold: -1, folds: 0, condition: design, epochs: input.train.epochs, windows: train.reduce((s, e) => s + e.windows.length, 0), resumedAt: resumeFrom?.state.epoch ?? 0 });
  const { model } = await fit(config, train, validation, designTraining(input.train, design), trainingHooks(input, run, checkpointPath), resumeFrom);
  const path = join(input.outDir, 'model.safetensors');
  try {
    await writeFileAtomic(path, await encodeModel(model, {}, { corpus: input.corpusName }));
  } finally {
    // At once, written or not: the finalizer would free the model's device memory only at some collection.
    model.dispose();
  }
  return path;
}

/** 'none' trains no gender head: its loss weight is 0. */
function designTraining(options: TrainOptions, design: GenderDesign): TrainOptions {
  return design === 'none' ? { ...options, genderLossWeight: 0 } : options;
}

// ------------------------------------------------------------------------------------------------ checkpoints

/** Progress reports, and a checkpoint at `checkpointPath` after every epoch, stamped with the run's id. */
function trainingHooks(input: ExperimentInput, run: RunRecord, checkpointPath: string): TrainHooks {
  return {
    onBatch: (epoch, done, total) => input.progress?.({ kind: 'batch', epoch, done, total }),
    onEpoch: (record) => input.progress?.({ kind: 'epoch', record }),
    saveCheckpoint: (model, state) => saveTrainingCheckpoint(checkpointPath, model, state, run.id),
  };
}

/** On resume, the state to continue `what` from: its checkpoint if this run wrote it. A damaged checkpoint, or
 * another run's, is named and `what` trained from its first epoch. */
async function resumeState(input: ExperimentInput, run: RunRecord, checkpointPath: string, what: string) {
  if (!input.resume || !existsSync(checkpointPath)) return undefined;
  try {
    return await loadTrainingCheckpoint(checkpointPath, run);
  } catch (e) {
    (input.warn ?? ((message: string) => console.error(message)))(`${(e as Error).message}; training ${what} from its first epoch`);
    return undefined;
  }
}

async function saveTrainingCheckpoint(path: string, model: SerModel, state: TrainingState, runId: string): Promise<void> {
  const extra: Record<string, NamedTensor> = {};
  state.optimizer.m.forEach((m, i) => (extra[`optimizer.m.${i}`] = { shape: [m.length], data: m }));
  state.optimizer.v.forEach((v, i) => (extra[`optimizer.v.${i}`] = { shape: [v.length], data: v }));
  for (const [name, t] of Object.entries(state.best)) extra[`best.${name}`] = t;
  const { epoch, bestEpoch, bestUa, history, optimizer } = state;
  const meta = { run: runId, training: JSON.stringify({ epoch, bestEpoch, bestUa, history, optimizerStep: optimizer.step, optimizerSteps: optimizer.steps, moments: optimizer.m.length }) };
  await writeFileAtomic(path, await encodeModel(model, extra, meta));
}

async function loadTrainingCheckpoint(path: string, run: RunRecord) {
  const decoded = decodeModel(await readCheckpointFile(path), path);
  const { extra, metadata } = decoded;
  const model = singleNetwork(decoded.model, path, 'resuming a training run');
  if (!run.owns(metadata.run)) {
    model.dispose();
    throw new Error(`${path}: written by another run (id ${metadata.run}, this run is ${run.id})`);
  }
  // optimizerSteps (each parameter's step count) is absent from checkpoints written before it was kept.
  let training: (Omit<TrainingState, 'optimizer' | 'best'> & { optimizerStep: number; optimizerSteps?: number[]; moments: number }) | null;
  try {
    training = JSON.parse(metadata.training ?? 'null');
  } catch (e) {
    model.dispose();
    throw new Error(`${path}: damaged training state (${(e as Error).message})`);
  }
  if (!training || typeof training !== 'object' || !Number.isInteger(training.epoch) || !Array.isArray(training.history) || !Number.isInteger(training.moments)) {
    model.dispose();
    throw new Error(`${path}: checkpoint has no usable training state to resume from`);
  }
  const weights = await model.stateDict();
  model.dispose();
  const best: TrainingState['best'] = {};
  for (const [name, t] of Object.entries(extra)) if (name.startsWith('best.')) best[name.slice(5)] = t;
  const { optimizerStep, optimizerSteps, moments, ...rest } = training;
  if (optimizerSteps !== undefined && !(Array.isArray(optimizerSteps) && optimizerSteps.length === moments)) {
    throw new Error(`${path}: damaged training state (optimizerSteps is not a list of ${moments} step counts)`);
  }
  rest.history = historyFromJson(rest.history);
  const momentsOf = (kind: 'm' | 'v') =>
    Array.from({ length: moments }, (_, i) => {
      const name = `optimizer.${kind}.${i}`;
      if (!extra[name]) throw new Error(`${path}: checkpoint has no ${name} to resume from`);
      return extra[name].data;
    });
  return { weights, state: { ...rest, best, optimizer: { step: optimizerStep, steps: optimizerSteps, m: momentsOf('m'), v: momentsOf('v') } } };
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2));
}

// ------------------------------------------------------------------------------------------------ checks

/** Refuses data that would train to a meaningless or silently wrong result. */
export function checkCorpus(utterances: LoadedUtterance[], classes: string[]): void {
  const counts = new Map<string, number>();
  for (const u of utterances) counts.set(u.emotion, (counts.get(u.emotion) ?? 0) + 1);
  const present = classes.filter((c) => counts.has(c));
  if (present.length < 2) {
    const found = present.length ? `only ${present.map((c) => `${c} (${counts.get(c)} utterances)`).join(', ')}` : 'none of its classes';
    throw new Error(`training needs utterances of at least 2 emotion classes, but the data holds ${found}: one class would score WA and UA 100 % by always answering it`);
  }
  const genders = new Map<string, { f: string[]; m: string[] }>();
  for (const u of utterances) {
    const g = genders.get(u.speaker) ?? { f: [], m: [] };
    g[u.gender].push(u.file);
    genders.set(u.speaker, g);
  }
  for (const [speaker, g] of genders) {
    if (g.f.length && g.m.length) {
      throw new Error(`speaker "${speaker}" is labelled both female (${firstFew(g.f)}) and male (${firstFew(g.m)}): a speaker has one gender; fix the labels`);
    }
  }
}

/** A finished fold's result, checked against the fold's test utterances; any damage is an Error naming the file. */
async function readFoldResult(path: string, test: Example[], classCount: number): Promise<FoldOutcome> {
  const fail = (reason: string): never => {
    throw new Error(`${path}: damaged fold result (${reason})`);
  };
  let outcome: FoldOutcome;
  try {
    outcome = JSON.parse(await readFile(path, 'utf8')) as FoldOutcome;
  } catch (e) {
    return fail((e as Error).message);
  }
  if (!outcome || typeof outcome !== 'object') fail('not an object');
  const n = test.length;
  const labels = (v: unknown, name: string, below: number) => {
    if (!Array.isArray(v) || v.length !== n || v.some((x) => !Number.isInteger(x) || x < 0 || x >= below)) fail(`${name} must list ${n} class indices`);
  };
  labels(outcome.truth, 'truth', classCount);
  labels(outcome.predicted, 'predicted', classCount);
  labels(outcome.genderTruth, 'genderTruth', 2);
  labels(outcome.genderPredicted, 'genderPredicted', 2);
  const { probabilities } = outcome;
  if (probabilities !== undefined) {
    const distribution = (row: unknown) => Array.isArray(row) && row.length === classCount && row.every((p) => typeof p === 'number' && p >= 0 && p <= 1);
    if (!Array.isArray(probabilities) || probabilities.length !== n || !probabilities.every(distribution)) fail(`probabilities must list ${n} rows of ${classCount} values in [0, 1]`);
    if (probabilities.some((row, i) => argmax(row) !== outcome.predicted[i])) fail('its probabilities do not give its predictions');
  }
  if (outcome.truth.some((t, i) => t !== test[i].label) || outcome.genderTruth.some((g, i) => g !== test[i].gender)) fail("its labels are not this fold's test utterances");
  if (!Array.isArray(outcome.history) || !Number.isInteger(outcome.bestEpoch)) fail('no training history');
  if (outcome.run !== undefined && typeof outcome.run !== 'string') fail('bad run id');
  if (outcome.source !== undefined && outcome.source !== null && typeof outcome.source !== 'string') fail('bad source revision');
  return { ...outcome, history: historyFromJson(outcome.history) };
}

/** A training history as JSON gave it back: JSON writes NaN (a validation loss without validation speakers) as
 * null, and a resumed run's reports must read what an uninterrupted run's do. */
function historyFromJson(history: EpochRecord[]): EpochRecord[] {
  return history.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? NaN : v])) as unknown as EpochRecord);
}

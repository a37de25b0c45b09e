// Fits one SerModel: AdamW with a linear warm-up and a cosine learning-rate schedule, class-weighted
// cross-entropy for unbalanced corpora, a jointly trained gender head, speed-perturbed training windows (and, on
// request, noisy ones: augment.ts), and a checkpoint written atomically after every epoch from which `resume` continues. With
// validation speakers, early stopping keeps the weights of the epoch with the best validation UA; without, the
// run trains its fixed number of epochs and keeps the last.
// Everything is seeded: the same seed, data and configuration give the same run.

import { Adam, type AdamState } from '../engine/adam.js';
import { CapturedStep } from '../engine/captured-step.js';
import type { ArrayTensor } from '../engine/module.js';
import { seededRandom } from '../engine/random.js';
import { tensor } from '../engine/ops.js';
import { tidy, type Tensor } from '../engine/tensor.js';
import type { SpanMaskOptions } from '../kernels/optim.js';
import type { ModelConfig } from '../model/config.js';
import { firstNonFinite } from '../model/model-file.js';
import { SerModel, serLoss } from '../model/ser-model.js';
import { addNoise, perturbSpeed } from './augment.js';
import { allWindows, batches, classWeights, makeBatch, shuffled, speakerBatches, type Example, type UnscoredExample } from './dataset.js';
import { predictExamples } from './evaluate.js';
import { classificationReport } from './metrics.js';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  /** Epochs over which the learning rate rises linearly from lr/20 to lr before the cosine decay. */
  warmupEpochs: number;
  weightDecay: number;
  /** Epochs without a better validation UA before stopping. */
  patience: number;
  seed: number;
  /** Weight of the gender head's loss beside the emotion loss. */
  genderLossWeight: number;
  classWeighting: boolean;
  /** Speed perturbation: each training window replayed at a random rate in [1 - p, 1 + p] (0: off). */
  speedPerturbation: number;
  /** SpecAugment: in each training window, random spans of the filter bank's bands and frames zeroed (SerModel's
   * `masking`). Absent when off, so that the identity of runs from before it stays what they recorded. */
  specAugment?: SpanMaskOptions;
  /** Additive noise: white Gaussian noise in each training window at an SNR drawn from [low, high] dB of the
   * window's power. Absent when off, as specAugment. */
  noiseSnrDb?: readonly [number, number];
}

export const DEFAULT_TRAIN_OPTIONS: TrainOptions = {
  // 40, not 20: on EMO-DB (leave one speaker out) the loss still fell at epoch 20, and 40 epochs gained about 6
  // points UA in every seed of both designs (README, "Longer training").
  epochs: 40,
  batchSize: 16,
  lr: 2e-3,
  warmupEpochs: 1,
  weightDecay: 1e-2,
  patience: 8,
  seed: 1,
  genderLossWeight: 0.5,
  classWeighting: true,
  speedPerturbation: 0.1,
};

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  validationLoss: number;
  validationUa: number;
  lr: number;
  seconds: number;
}

/** What a checkpoint holds besides the weights: enough to continue exactly where a run stopped. */
export interface TrainingState {
  epoch: number;
  bestEpoch: number;
  bestUa: number;
  history: EpochRecord[];
  optimizer: AdamState;
  best: Record<string, ArrayTensor>;
}

export interface TrainHooks {
  /** Called after each batch with the windows done so far this epoch. */
  onBatch?(epoch: number, done: number, total: number): void;
  onEpoch?(record: EpochRecord): void;
  /** Persists the state after each epoch (atomically); resumed runs pass the loaded state to `fit`. */
  saveCheckpoint?(model: SerModel, state: TrainingState): Promise<void>;
}

export interface FitResult {
  model: SerModel;
  history: EpochRecord[];
  bestEpoch: number;
}

/** Speakers held out of training to choose its epoch: their scored utterances and, as for a test speaker, the
 * unscored audio that their normalisation reads too (so that validation adapts as the test will). */
export interface Validation {
  examples: Example[];
  unscored?: UnscoredExample[];
}

export async function fit(
  config: ModelConfig,
  train: Example[],
  { examples: validation, unscored: validationUnscored = [] }: Validation,
  options: TrainOptions,
  hooks: TrainHooks = {},
  resumeFrom?: { weights: Record<string, ArrayTensor>; state: TrainingState },
): Promise<FitResult> {
  if (train.length === 0) throw new Error('fit: no training utterances');
  if (options.specAugment && !config.frontEnd) throw new Error("fit: specAugment masks the filter bank's bands and frames, and this model has none (an m5 design)");
  const model = new SerModel(config, options.seed);
  model.masking = options.specAugment ?? null;
  let adam: Adam | undefined;
  let weights: Tensor | undefined;
  let losses: Tensor[] = [];
  let step: CapturedStep<StepInputs> | undefined;
  // Whatever fails below (a checkpoint that does not fit the model, a diverged epoch, a hook that throws), what fit
  // made is disposed before the error propagates: left to the finalizer, a model and its optimiser's three flat
  // vectors would hold device memory until some collection, while the caller goes on to its next fold.
  try {
    adam = new Adam(model.parameters(), { lr: options.lr, weightDecay: options.weightDecay });
    weights = options.classWeighting ? tensor(classWeights(train, config.classes.length), [config.classes.length]).keep() : undefined;
    const state: Omit<TrainingState, 'optimizer'> = resumeFrom ? resume(model, adam, resumeFrom) : { epoch: 0, bestEpoch: 0, bestUa: -1, history: [], best: {} };
    const trainRefs = allWindows(train);
    step = trainingStep(model, adam, config, options, weights);
    // The batch count does not depend on the shuffle, only on how many windows each speaker has.
    const stepsPerEpoch = (config.speakerNormalization ? speakerBatches(trainRefs, options.batchSize, seededRandom(0)) : batches(trainRefs, options.batchSize)).length;

    for (let epoch = state.epoch; epoch < options.epochs; epoch++) {
      if (validation.length && epoch - state.bestEpoch >= options.patience && state.bestUa >= 0) break;
      const started = performance.now();
      model.train();
      const random = seededRandom(options.seed * 1000003 + epoch);
      // Its own stream, so the batches do not depend on whether augmentation is on.
      const augmentRandom = seededRandom(options.seed * 1000033 + epoch + 7);
      const epochBatches = config.speakerNormalization ? speakerBatches(trainRefs, options.batchSize, random) : batches(shuffled(trainRefs, random), options.batchSize);
      losses = [];
      let done = 0;
      for (const refs of epochBatches) {
        const batch = makeBatch(refs, config.windowSamples);
        perturbSpeed(batch.samples, config.windowSamples, options.speedPerturbation, augmentRandom);
        if (options.noiseSnrDb) addNoise(batch.samples, config.windowSamples, options.noiseSnrDb, augmentRandom);
        adam.lr = learningRate(options, adam.stepCount / stepsPerEpoch);
        // Per training seed as well as per step, so that seeds differ in their dropout masks too.
        model.dropoutSeed = options.seed * 1000003 + adam.stepCount;
        // Full batches replay the step recorded at the epoch's first one; the others (a speaker's last) run in full.
        const inputs: StepInputs = [batch.samples, batch.genders, batch.labels, batch.genderLabels];
        const loss = batch.size === options.batchSize ? step.run(...inputs) : step.runInFull(...inputs);
        // Kept with its value only: losses are read once per epoch, not inside the step.
        losses.push(loss.keep());
        done += refs.length;
        hooks.onBatch?.(epoch, done, trainRefs.length);
      }
      step.dispose();
      const trainLoss = await meanOf(losses);
      // A diverged run stops here, before anything of this epoch is saved: the last checkpoint written (the
      // previous epoch's, if any) stays the last finite one.
      if (!Number.isFinite(trainLoss)) throw new TrainingDivergedError(epoch + 1, `the mean training loss is ${trainLoss}`, options.lr, state.epoch);
      const val = validation.length ? await validate(model, validation, validationUnscored) : { loss: NaN, ua: NaN };
      const record: EpochRecord = { epoch: epoch + 1, trainLoss, validationLoss: val.loss, validationUa: val.ua, lr: adam.lr, seconds: (performance.now() - started) / 1000 };
      state.history.push(record);
      if (validation.length && val.ua > state.bestUa) {
        state.bestUa = val.ua;
        state.bestEpoch = epoch + 1;
        state.best = await model.stateDict();
      }
      const lastSaved = state.epoch;
      state.epoch = epoch + 1;
      hooks.onEpoch?.(record);
      // The weights (with batch norm's statistics) and the optimiser's moments must be finite before they are kept.
      const badWeight = firstNonFinite(await model.stateDict());
      if (badWeight) throw new TrainingDivergedError(epoch + 1, `weight "${badWeight.name}" is ${badWeight.value}`, options.lr, lastSaved);
      if (hooks.saveCheckpoint) {
        const optimizer = await adam.state();
        const badMoment = firstNonFinite(Object.fromEntries([...optimizer.m.map((data, i) => [`optimizer.m.${i}`, { data }]), ...optimizer.v.map((data, i) => [`optimizer.v.${i}`, { data }])]));
        if (badMoment) throw new TrainingDivergedError(epoch + 1, `optimiser state "${badMoment.name}" is ${badMoment.value}`, options.lr, lastSaved);
        await hooks.saveCheckpoint(model, { ...state, optimizer });
      }
    }
    if (validation.length && Object.keys(state.best).length) model.loadStateDict(state.best);
    if (!validation.length) state.bestEpoch = state.epoch;
    model.eval();
    return { model, history: state.history, bestEpoch: state.bestEpoch };
  } catch (e) {
    model.dispose();
    // The epoch's loss values (meanOf disposes those it has read; disposing twice is harmless).
    for (const l of losses) l.dispose();
    throw e;
  } finally {
    step?.dispose();
    adam?.dispose();
    weights?.dispose();
  }
}

type StepInputs = [samples: Float32Array, genders: Float32Array, labels: Int32Array, genderLabels: Int32Array];

/** One training step on a batch's arrays: forward, loss, backward, the optimiser's step. Recorded at an epoch's first
 * full batch and replayed for the other full ones (../engine/captured-step.ts); the trainer disposes it after each
 * epoch, so that the next records again, with kernels tuned meanwhile, and validation has its memory. */
function trainingStep(model: SerModel, adam: Adam, config: ModelConfig, options: TrainOptions, classWeights: Tensor | undefined): CapturedStep<StepInputs> {
  return new CapturedStep((samples, genders, labels, genderLabels) => {
    const size = labels.length;
    const loss = tidy(() => {
      const x = tensor(samples, [size, 1, config.windowSamples]);
      const g = tensor(genders, [size, 2]);
      return serLoss(model.forward(x, config.useGender ? g : undefined), { labels, genderLabels }, { genderWeight: options.genderLossWeight, classWeights });
    });
    try {
      loss.backwardSync();
      adam.step();
      adam.zeroGrad();
      return loss;
    } catch (e) {
      loss.dispose();
      throw e;
    }
  });
}

/** Puts a checkpoint's weights and optimiser state into a new run's model and optimiser, and checks its best
 * weights (loaded only when training ends), so that what does not fit the model is refused, named, before a step. */
function resume(model: SerModel, adam: Adam, from: { weights: Record<string, ArrayTensor>; state: TrainingState }): Omit<TrainingState, 'optimizer'> {
  const fitting = (what: string, load: () => void) => {
    try {
      load();
    } catch (e) {
      throw new Error(`fit: cannot resume: the checkpoint's ${what} the model: ${(e as Error).message}`, { cause: e });
    }
  };
  fitting('weights do not fit', () => model.loadStateDict(from.weights));
  fitting('optimiser state does not fit', () => adam.loadState(from.state.optimizer));
  if (Object.keys(from.state.best).length) fitting('best weights do not fit', () => model.checkStateDict(from.state.best));
  return from.state;
}

/** Training produced a non-finite loss, weight or optimiser state: stopped before saving the epoch. */
export class TrainingDivergedError extends Error {
  constructor(
    readonly epoch: number,
    what: string,
    lr: number,
    lastSavedEpoch: number,
  ) {
    super(
      `training diverged in epoch ${epoch}: ${what} (not finite). Stopped without saving this epoch` +
        (lastSavedEpoch > 0 ? `; the last checkpoint written, if any, is epoch ${lastSavedEpoch}'s` : '') +
        `. A lower learning rate (--lr, now ${lr}) usually helps.`,
    );
    this.name = 'TrainingDivergedError';
  }
}

/** The learning rate at a (fractional) epoch: a linear warm-up from lr/20 over warmupEpochs, then cosine
 * decay to lr/20 at the last epoch. Set per step, so warm-up is smooth even when it lasts one epoch. */
export function learningRate(options: Pick<TrainOptions, 'lr' | 'epochs' | 'warmupEpochs'>, epoch: number): number {
  const { lr, epochs, warmupEpochs } = options;
  const floor = lr / 20;
  if (epoch < warmupEpochs) return floor + ((lr - floor) * epoch) / warmupEpochs;
  const progress = (epoch - warmupEpochs) / Math.max(1e-9, epochs - warmupEpochs);
  return floor + ((lr - floor) * (1 + Math.cos(Math.PI * Math.min(1, progress)))) / 2;
}

async function meanOf(losses: Tensor[]): Promise<number> {
  let total = 0;
  for (const l of losses) {
    total += (await l.toArray())[0];
    l.dispose();
  }
  return losses.length ? total / losses.length : NaN;
}

async function validate(model: SerModel, validation: Example[], unscored: UnscoredExample[]): Promise<{ loss: number; ua: number }> {
  const predictions = await predictExamples(model, validation, { useTrueGender: true, unscored });
  const truth = validation.map((e) => e.label);
  const report = classificationReport(truth, predictions.map((p) => p.predicted), model.config.classes);
  // Utterance-level negative log-likelihood of the averaged window probabilities.
  const loss = predictions.reduce((s, p, i) => s - Math.log(Math.max(p.probabilities[truth[i]], 1e-12)), 0);
  return { loss: loss / predictions.length, ua: report.ua };
}

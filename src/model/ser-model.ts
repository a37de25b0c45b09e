// The speech emotion recogniser: a CNN over the raw waveform. It reads the samples through a learned filter
// bank (either a log-compressed complex filter bank, `frontEnd`, or the first wide strided convolution of the
// blocks), then convolution / batch-norm / ReLU / max-pool blocks, then pools over time: the mean, the mean
// and standard deviation of each channel (statistics pooling), or both weighted over time by learned scores
// (attentive statistics pooling). The speaker's gender enters by the configured
// fusion: joined to the pooled features before the classifier (concat), or as a per-channel scale and shift
// of every block's output (FiLM). A gender head is trained jointly, so the model can supply the gender itself
// when it is not given.
//
//   x [N,1,L] → [filter bank → log → BN → (SpecAugment's masks, in training)] → {conv → BN → (FiLM) → ReLU → pool}
//     × blocks → pool over time [N,F] → (concat gender [N,2]) → linear → ReLU → dropout → linear
//     → emotion logits [N,C]
//   gender logits [N,2] ← linear ← pooled features (FiLM: the filter bank's statistics, which gender does not shape)

import { BatchNorm1d, Conv1d, Linear, uniformValues, type LinearInit } from '../engine/nn.js';
import { seededRandom, streamSeed } from '../engine/random.js';
import { Module } from '../engine/module.js';
import { add, affine, concat, crossEntropy, dropout, maxPool1d, mean, mul, relu, reshape, softmax, spanMask, sqrt, square, statsPool, sub, sum, tanh } from '../engine/ops.js';
import { ShapeError, type Tensor } from '../engine/tensor.js';
import type { SpanMaskOptions } from '../kernels/optim.js';
import { pooledWidth, type ModelConfig } from './config.js';
import { FilterBank } from './filterbank.js';

export const GENDERS = ['f', 'm'] as const;

/** The gender input for one window: a one-hot over GENDERS. */
export function genderOneHot(gender: number): Float32Array {
  const v = new Float32Array(GENDERS.length);
  v[gender] = 1;
  return v;
}

class ConvBlock extends Module {
  readonly conv: Conv1d;
  readonly norm: BatchNorm1d;
  constructor(inChannels: number, readonly spec: ModelConfig['blocks'][number], random: () => number) {
    super();
    const padding = Math.floor(spec.kernel / 2) - (spec.kernel % 2 === 0 ? 1 : 0);
    // No conv bias: batch norm's shift makes it redundant.
    this.conv = this.child('conv', new Conv1d(inChannels, spec.channels, spec.kernel, { stride: spec.stride, padding, bias: false }, random));
    this.norm = this.child('bn', new BatchNorm1d(spec.channels));
  }
  /** film: per-channel [N,C,1] scale and shift from the gender, applied between batch norm and ReLU. */
  forward(x: Tensor, film?: { scale: Tensor; shift: Tensor }): Tensor {
    const y = film ? relu(add(mul(this.norm.forward(this.conv.forward(x)), film.scale), film.shift)) : this.norm.forward(this.conv.forward(x), 'relu');
    return this.spec.pool > 1 && y.shape[2] >= this.spec.pool ? maxPool1d(y, { kernelSize: this.spec.pool }) : y;
  }
}

export interface SerOutput {
  emotion: Tensor;
  gender: Tensor;
}

/** Feature-wise linear modulation from the gender one-hot: scale 1 + W_s g and shift W_h g per channel. */
class GenderFilm extends Module {
  readonly scale: Linear;
  readonly shift: Linear;
  constructor(channels: number, random: () => number) {
    super();
    this.scale = this.child('scale', new Linear(GENDERS.length, channels, random));
    this.shift = this.child('shift', new Linear(GENDERS.length, channels, random));
  }
  forward(gender: Tensor): { scale: Tensor; shift: Tensor } {
    const [N, C] = [gender.shape[0], this.scale.outFeatures];
    return { scale: reshape(affine(this.scale.forward(gender), 1, 1), [N, C, 1]), shift: reshape(this.shift.forward(gender), [N, C, 1]) };
  }
}

/** Attentive statistics pooling (Okabe, Koshinaka and Shinoda, Interspeech 2018): each frame t of h [N,C,T] gets
 * a score v·tanh(W h_t + b), the scores' softmax over time weights the frames, and each channel's weighted mean
 * and weighted standard deviation sqrt(Σ_t α_t (h_t − mean)² + STATS_EPS) make the [N,2C] vector that statistics
 * pooling makes with equal weights. W is a k=1 convolution; v has no bias (the softmax ignores a constant). */
class AttentivePooling extends Module {
  readonly hidden: Conv1d;
  readonly score: Conv1d;
  constructor(channels: number, random: () => number) {
    super();
    this.hidden = this.child('hidden', new Conv1d(channels, channels, 1, {}, random));
    this.score = this.child('score', new Conv1d(channels, 1, 1, { bias: false }, random));
  }
  forward(h: Tensor): Tensor {
    const [N, C] = h.shape;
    const weights = softmax(this.score.forward(tanh(this.hidden.forward(h)))); // [N,1,T], over T
    const m = sum(mul(h, weights), 2, true); // [N,C,1]
    const variance = sum(mul(square(sub(h, m)), weights), 2);
    return concat([reshape(m, [N, C]), sqrt(affine(variance, 1, STATS_EPS))], 1);
  }
}

export class SerModel extends Module {
  readonly frontEnd: FilterBank | null;
  readonly frontEndNorm: BatchNorm1d | null;
  readonly blocks: ConvBlock[];
  readonly films: GenderFilm[];
  readonly attention: AttentivePooling | null;
  readonly hidden: Linear | null;
  readonly emotionHead: Linear;
  readonly genderHead: Linear;
  /** Seed of the next dropout mask; the trainer sets it from the step count so a resumed run repeats. */
  dropoutSeed = 0;
  /** SpecAugment in training: band and frame spans of the filter bank's normalised log energies zeroed (null: off).
   * A training option (the trainer sets it), not part of the architecture: inference never masks. */
  masking: SpanMaskOptions | null = null;

  constructor(readonly config: ModelConfig, seed = 1) {
    super();
    // Each part draws from a stream of its own, so that the gender designs (concat, film, aux, none) of one seed
    // start every layer they share from the same weights: a design changes only the weights it adds, and the
    // paired comparison of two designs compares their gender input, not two draws of the classifier.
    const random = seededRandom(seed);
    const headRandom = seededRandom(streamSeed(seed, 1));
    const filmRandom = seededRandom(streamSeed(seed, 2));
    const genderInputRandom = seededRandom(streamSeed(seed, 3));
    const attentionRandom = seededRandom(streamSeed(seed, 4));
    // A layer refused half-way (on WebGPU, a weight past the adapter's maxStorageBufferBindingSize: a checkpoint's
    // 4096-channel block) left the layers built before it holding their buffers, with no model to dispose them.
    try {
      const front = config.frontEnd;
      this.frontEnd = front ? this.child('frontend', new FilterBank(front, config.sampleRate)) : null;
      // Log band energies differ by orders of magnitude between bands: batch norm puts them on one scale.
      this.frontEndNorm = front ? this.child('frontend_bn', new BatchNorm1d(front.filters)) : null;
      let channels = front ? front.filters : 1;
      this.blocks = config.blocks.map((spec, i) => {
        const block = this.child(`block${i}`, new ConvBlock(channels, spec, random));
        channels = spec.channels;
        return block;
      });
      const film = config.useGender && fusionOf(config) === 'film';
      if (film && !front) throw new ShapeError("SerModel: fusion 'film' needs the filter-bank front end (the gender head reads its statistics)");
      this.films = film ? config.blocks.map((spec, i) => this.child(`film${i}`, new GenderFilm(spec.channels, filmRandom))) : [];
      this.attention = config.pooling === 'attentive' ? this.child('attention', new AttentivePooling(channels, attentionRandom)) : null;
      const pooled = pooledWidth(config, channels);
      const joinedGender = config.useGender && !film ? GENDERS.length : 0;
      const reader = (outFeatures: number) => new Linear(pooled + joinedGender, outFeatures, joinedInit(pooled, joinedGender, outFeatures, headRandom, genderInputRandom));
      this.hidden = config.hidden > 0 ? this.child('hidden', reader(config.hidden)) : null;
      this.emotionHead = this.child('emotion', this.hidden ? new Linear(config.hidden, config.classes.length, headRandom) : reader(config.classes.length));
      this.genderHead = this.child('gender', new Linear(film ? 2 * front!.filters : pooled, GENDERS.length, headRandom));
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /** x [N,1,L]; gender [N,2] one-hot. When the model uses gender and none is given, the gender head's
   * probabilities stand in for it (prediction for speakers of unknown gender). */
  forward(x: Tensor, gender?: Tensor): SerOutput {
    if (gender && (gender.shape.length !== 2 || gender.shape[0] !== x.shape[0] || gender.shape[1] !== GENDERS.length)) {
      throw new ShapeError(`SerModel: gender ${gender.describe()} must be [${x.shape[0]},${GENDERS.length}] (one-hot f, m)`);
    }
    let h = x;
    if (this.frontEnd) h = this.frontEndNorm!.forward(this.frontEnd.forward(h));
    // Read with dropout's seed, before classify moves it on (the kernels hash it with different keys).
    if (this.frontEnd && this.masking) h = spanMask(h, this.masking, this.training, () => this.dropoutSeed);
    if (this.films.length) {
      // The gender estimate must not depend on what the gender modulates: it reads the filter bank's statistics.
      const genderLogits = this.genderHead.forward(statisticsPooling(h));
      const g = gender ?? softmax(genderLogits);
      this.blocks.forEach((block, i) => (h = block.forward(h, this.films[i].forward(g))));
      return { emotion: this.classify(this.pool(h)), gender: genderLogits };
    }
    for (const block of this.blocks) h = block.forward(h);
    const features = this.pool(h);
    const genderLogits = this.genderHead.forward(features);
    const joined = this.config.useGender ? concat([features, gender ?? softmax(genderLogits)], 1) : features;
    return { emotion: this.classify(joined), gender: genderLogits };
  }

  private pool(h: Tensor): Tensor {
    if (this.attention) return this.attention.forward(h);
    return this.config.pooling === 'stats' ? statisticsPooling(h) : mean(h, 2);
  }

  private classify(z: Tensor): Tensor {
    const hidden = this.hidden ? this.hidden.forward(z, 'relu') : z;
    // The seed is read when the mask is drawn, and again at each replay of a captured training step.
    return this.emotionHead.forward(dropout(hidden, this.config.dropout, this.training, () => this.dropoutSeed++));
  }
}

/** The initial weights of the layer that reads the pooled features and the `extra` gender inputs joined to them:
 * the features' columns and the bias as a Linear(pooled, out) draws them (torch's uniform ±1/sqrt(fan-in), with
 * the features' fan-in), whatever joins them, then the gender columns, with the same bound, from their own stream. */
function joinedInit(pooled: number, extra: number, out: number, random: () => number, extraRandom: () => number): LinearInit {
  const bound = 1 / Math.sqrt(pooled);
  const features = uniformValues(out * pooled, bound, random);
  const bias = uniformValues(out, bound, random);
  const genders = uniformValues(out * extra, bound, extraRandom);
  const weight = new Float32Array(out * (pooled + extra));
  for (let o = 0; o < out; o++) {
    weight.set(features.subarray(o * pooled, (o + 1) * pooled), o * (pooled + extra));
    weight.set(genders.subarray(o * extra, (o + 1) * extra), o * (pooled + extra) + pooled);
  }
  return { weight, bias };
}

/** How the gender input joins; checkpoints written before fusion designs existed concatenate. */
export function fusionOf(config: ModelConfig): 'concat' | 'film' {
  return config.fusion ?? 'concat';
}

/** Added to the variance in statistics pooling, so a constant channel has a finite gradient (python's STATS_EPS). */
const STATS_EPS = 1e-5;

/** [N,C,T] → [N,2C]: each channel's mean over time, then its standard deviation sqrt(biased variance + STATS_EPS)
 * (x-vector statistics pooling), one fused kernel each way. */
export function statisticsPooling(h: Tensor): Tensor {
  return statsPool(h, STATS_EPS);
}

/** The training loss, one definition for every trainer (ser train, the page, the benchmark): the emotion
 * cross-entropy (with class weights for unbalanced corpora) plus genderWeight × the gender head's. */
export function serLoss(out: SerOutput, targets: { labels: Int32Array; genderLabels: Int32Array }, options: { genderWeight: number; classWeights?: Tensor }): Tensor {
  const emotion = crossEntropy(out.emotion, targets.labels, { weight: options.classWeights });
  return add(emotion, affine(crossEntropy(out.gender, targets.genderLabels), options.genderWeight));
}

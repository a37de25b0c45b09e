// The SER network (src/model/ser-model.ts) written in TensorFlow.js ops, for the training-step and inference
// comparison: the same layers, sizes, padding, batch norm (batch statistics in training, running ones in
// eval, torch's momentum), max pooling, time average, gender one-hot concat, heads and loss, trained with
// tf.variableGrads and tf.train.adam. Channels-last: a window batch is [N,1,L,1] (conv1d as conv2d of height 1).
// Weights are loaded from our model's state dict, so both start from the same point.

import type * as TF from '@tensorflow/tfjs-core';
import type { ArrayTensor } from '../src/index.js';
import type { ModelConfig } from '../src/model/config.js';
import { weightToHwio } from './check.js';
import type { Tfjs } from './gpu.js';

const EPS = 1e-5;
const MOMENTUM = 0.1;

interface Block {
  kernel: TF.Variable; // [1,K,Cin,Cout]
  gamma: TF.Variable;
  beta: TF.Variable;
  runningMean: TF.Variable;
  runningVar: TF.Variable;
  stride: number;
  padding: number;
  pool: number;
}

interface Dense {
  weight: TF.Variable; // [out,in], as ours
  bias: TF.Variable;
}

interface BatchStats {
  mean: TF.Tensor;
  variance: TF.Tensor;
  /** Values per channel (N·L), for the unbiased running variance. */
  count: number;
}

export interface TfjsBatch {
  x: TF.Tensor4D; // [N,1,L,1]
  gender: TF.Tensor2D; // [N,2] one-hot
  emotionOneHot: TF.Tensor2D;
  genderOneHot: TF.Tensor2D;
}

export class TfjsSer {
  private blocks: Block[];
  private hidden: Dense | null;
  private emotion: Dense;
  private gender: Dense;
  private optimizer: TF.AdamOptimizer;

  constructor(
    private tf: Tfjs,
    readonly config: ModelConfig,
    state: Record<string, ArrayTensor>,
    lr: number,
    /** The trainer's weight of the gender head's loss (DEFAULT_TRAIN_OPTIONS.genderLossWeight), not a copy of it. */
    private genderWeight: number,
  ) {
    const variable = (name: string, trainable = true, transform?: (s: ArrayTensor) => { data: Float32Array; shape: number[] }) => {
      const s = state[name];
      if (!s) throw new Error(`TfjsSer: the state dict has no ${name}`);
      const t = transform ? transform(s) : s;
      return tf.variable(tf.tensor(t.data, t.shape), trainable);
    };
    let channels = 1;
    this.blocks = config.blocks.map((spec, i) => {
      const p = `block${i}.`;
      const K = spec.kernel;
      const wShape = [spec.channels, channels, K];
      const block: Block = {
        kernel: variable(`${p}conv.weight`, true, (s) => ({ data: weightToHwio(s.data, wShape), shape: [1, K, channels, spec.channels] })),
        gamma: variable(`${p}bn.weight`),
        beta: variable(`${p}bn.bias`),
        runningMean: variable(`${p}bn.running_mean`, false),
        runningVar: variable(`${p}bn.running_var`, false),
        stride: spec.stride,
        padding: Math.floor(K / 2) - (K % 2 === 0 ? 1 : 0), // as ConvBlock
        pool: spec.pool,
      };
      channels = spec.channels;
      return block;
    });
    const dense = (name: string): Dense => ({ weight: variable(`${name}.weight`), bias: variable(`${name}.bias`) });
    this.hidden = config.hidden > 0 ? dense('hidden') : null;
    this.emotion = dense('emotion');
    this.gender = dense('gender');
    this.optimizer = tf.train.adam(lr, 0.9, 0.999, 1e-8);
  }

  private get trainable(): TF.Variable[] {
    const own = [this.hidden, this.emotion, this.gender].flatMap((d) => (d ? [d.weight, d.bias] : []));
    return [...this.blocks.flatMap((b) => [b.kernel, b.gamma, b.beta]), ...own];
  }

  private linear(x: TF.Tensor, d: Dense): TF.Tensor2D {
    const tf = this.tf;
    return tf.add(tf.matMul(x as TF.Tensor2D, d.weight as TF.Tensor2D, false, true), d.bias);
  }

  /** In training mode the batch statistics are used, and kept in `stats` (if given) for the running update. */
  forward(batch: TfjsBatch, training: boolean, stats?: BatchStats[]): { emotion: TF.Tensor2D; gender: TF.Tensor2D } {
    const tf = this.tf;
    let h: TF.Tensor4D = batch.x;
    for (const b of this.blocks) {
      h = tf.conv2d(h, b.kernel as TF.Tensor4D, [1, b.stride], [[0, 0], [0, 0], [b.padding, b.padding], [0, 0]]);
      if (training) {
        const { mean, variance } = tf.moments(h, [0, 1, 2]);
        stats?.push({ mean: tf.keep(mean), variance: tf.keep(variance), count: h.shape[0] * h.shape[2] });
        h = tf.batchNorm(h, mean, variance, b.beta, b.gamma, EPS) as TF.Tensor4D;
      } else {
        h = tf.batchNorm(h, b.runningMean, b.runningVar, b.beta, b.gamma, EPS) as TF.Tensor4D;
      }
      h = tf.relu(h);
      if (b.pool > 1 && h.shape[2] >= b.pool) h = tf.maxPool(h, [1, b.pool], [1, b.pool], 'valid');
    }
    const features = tf.mean(h, [1, 2]) as TF.Tensor2D;
    const gender = this.linear(features, this.gender);
    let z: TF.Tensor2D = this.config.useGender ? tf.concat([features, batch.gender], 1) : features;
    if (this.hidden) z = tf.relu(this.linear(z, this.hidden));
    if (training && this.config.dropout > 0) z = tf.dropout(z, this.config.dropout) as TF.Tensor2D;
    return { emotion: this.linear(z, this.emotion), gender };
  }

  /** serLoss in tfjs: emotion cross-entropy + genderWeight · gender cross-entropy, batch means (no class weights). */
  private loss(out: { emotion: TF.Tensor2D; gender: TF.Tensor2D }, batch: TfjsBatch): TF.Scalar {
    const tf = this.tf;
    const emotion = tf.losses.softmaxCrossEntropy(batch.emotionOneHot, out.emotion);
    const gender = tf.losses.softmaxCrossEntropy(batch.genderOneHot, out.gender);
    return tf.add(emotion, tf.mul(gender, this.genderWeight));
  }

  /** Training-mode loss and emotion logits, without a step (for the checks; caller disposes). */
  lossAndLogits(batch: TfjsBatch): [TF.Scalar, TF.Tensor2D] {
    return this.tf.tidy(() => {
      const out = this.forward(batch, true);
      return [this.loss(out, batch), out.emotion];
    });
  }

  /** One training step: loss, gradients, Adam, running statistics. Returns the loss (caller disposes). */
  step(batch: TfjsBatch): TF.Scalar {
    const tf = this.tf;
    const stats: BatchStats[] = [];
    const { value, grads } = tf.variableGrads(() => this.loss(this.forward(batch, true, stats), batch), this.trainable);
    this.optimizer.applyGradients(grads as TF.NamedTensorMap as Parameters<TF.AdamOptimizer['applyGradients']>[0]);
    tf.dispose(Object.values(grads));
    tf.tidy(() => {
      stats.forEach((s, i) => {
        const b = this.blocks[i];
        b.runningMean.assign(tf.add(tf.mul(b.runningMean, 1 - MOMENTUM), tf.mul(s.mean, MOMENTUM)));
        b.runningVar.assign(tf.add(tf.mul(b.runningVar, 1 - MOMENTUM), tf.mul(s.variance, (MOMENTUM * s.count) / (s.count - 1))));
      });
    });
    stats.forEach((s) => tf.dispose([s.mean, s.variance]));
    return value;
  }

  /** Eval-mode forward: softmax of both heads (caller disposes). */
  predict(batch: TfjsBatch): TF.Tensor2D[] {
    const tf = this.tf;
    return tf.tidy(() => {
      const out = this.forward(batch, false);
      return [tf.softmax(out.emotion), tf.softmax(out.gender)];
    });
  }

  dispose(): void {
    for (const b of this.blocks) this.tf.dispose([b.kernel, b.gamma, b.beta, b.runningMean, b.runningVar]);
    for (const d of [this.hidden, this.emotion, this.gender]) if (d) this.tf.dispose([d.weight, d.bias]);
    this.optimizer.dispose();
  }
}

export function tfjsBatch(tf: Tfjs, samples: Float32Array, genders: Float32Array, labels: Int32Array, genderLabels: Int32Array, classes: number): TfjsBatch {
  const N = labels.length;
  return {
    x: tf.tensor4d(samples, [N, 1, samples.length / N, 1]),
    gender: tf.tensor2d(genders, [N, 2]),
    emotionOneHot: tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), classes), 'float32') as TF.Tensor2D),
    genderOneHot: tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(genderLabels, 'int32'), 2), 'float32') as TF.Tensor2D),
  };
}

export function disposeBatch(tf: Tfjs, b: TfjsBatch): void {
  tf.dispose([b.x, b.gender, b.emotionOneHot, b.genderOneHot]);
}

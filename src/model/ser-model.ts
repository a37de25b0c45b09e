// The speech emotion recogniser: a CNN over the raw waveform. The first convolution is wide and strided and
// learns its own filter bank; deeper convolution / batch-norm / ReLU / max-pool blocks follow; global average
// pooling gives one feature vector per window. The speaker's gender (one-hot f, m) joins that vector before
// the emotion classifier, because pitch and formants differ between female and male voices. A gender head on
// the pooled features is trained jointly, so the model can supply the gender itself when it is not given.
//
//   x [N,1,L] → {conv → BN → ReLU → pool} × blocks → mean over time [N,F]
//     → concat(·, gender [N,2]) → linear → ReLU → dropout → linear → emotion logits [N,C]
//     → linear → gender logits [N,2]

import { BatchNorm1d, Conv1d, Linear } from '../engine/nn.js';
import { seededRandom } from '../engine/random.js';
import { Module } from '../engine/module.js';
import { concat, dropout, maxPool1d, mean, softmax } from '../engine/ops.js';
import { ShapeError, type Tensor } from '../engine/tensor.js';
import type { ModelConfig } from './config.js';

export const GENDERS = ['f', 'm'] as const;

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
  forward(x: Tensor): Tensor {
    const y = this.norm.forward(this.conv.forward(x), 'relu');
    return this.spec.pool > 1 && y.shape[2] >= this.spec.pool ? maxPool1d(y, { kernelSize: this.spec.pool }) : y;
  }
}

export interface SerOutput {
  emotion: Tensor;
  gender: Tensor;
}

export class SerModel extends Module {
  readonly blocks: ConvBlock[];
  readonly hidden: Linear | null;
  readonly emotionHead: Linear;
  readonly genderHead: Linear;
  /** Seed of the next dropout mask; the trainer sets it from the step count so a resumed run repeats. */
  dropoutSeed = 0;

  constructor(readonly config: ModelConfig, seed = 1) {
    super();
    const random = seededRandom(seed);
    let channels = 1;
    this.blocks = config.blocks.map((spec, i) => {
      const block = this.child(`block${i}`, new ConvBlock(channels, spec, random));
      channels = spec.channels;
      return block;
    });
    const joined = channels + (config.useGender ? GENDERS.length : 0);
    this.hidden = config.hidden > 0 ? this.child('hidden', new Linear(joined, config.hidden, random)) : null;
    this.emotionHead = this.child('emotion', new Linear(config.hidden > 0 ? config.hidden : joined, config.classes.length, random));
    this.genderHead = this.child('gender', new Linear(channels, GENDERS.length, random));
  }

  /** x [N,1,L]; gender [N,2] one-hot. When the model uses gender and none is given, the gender head's
   * probabilities stand in for it (prediction for speakers of unknown gender). */
  forward(x: Tensor, gender?: Tensor): SerOutput {
    const features = this.features(x);
    const genderLogits = this.genderHead.forward(features);
    let joined = features;
    if (this.config.useGender) {
      if (gender && (gender.shape.length !== 2 || gender.shape[0] !== x.shape[0] || gender.shape[1] !== GENDERS.length)) {
        throw new ShapeError(`SerModel: gender ${gender.describe()} must be [${x.shape[0]},${GENDERS.length}] (one-hot f, m)`);
      }
      joined = concat([features, gender ?? softmax(genderLogits)], 1);
    }
    let z = this.hidden ? this.hidden.forward(joined, 'relu') : joined;
    z = dropout(z, this.config.dropout, this.training, this.dropoutSeed++);
    return { emotion: this.emotionHead.forward(z), gender: genderLogits };
  }

  /** The backbone alone: [N,1,L] → pooled features [N,F] (the gender head reads these). */
  features(x: Tensor): Tensor {
    let h = x;
    for (const block of this.blocks) h = block.forward(h);
    return mean(h, 2);
  }
}

// Layers with parameters: Conv1d, Linear, BatchNorm1d. Initialisation as torch's defaults
// (uniform ±1/sqrt(fan_in) for weights and biases), drawn from a seeded generator so runs repeat.
// Sizes are checked first, naming the layer: Linear(2.5, 3) had said "tensor: shape [3,2.5] …" and Linear(-1, 3)
// "Invalid typed array length: -3".

import { nonNegativeInt, positiveInt } from './checks.js';
import { Module } from './module.js';
import { batchNorm1d, conv1d, linear, ones, tensor, zeros, type Conv1dOptions } from './ops.js';
import { ShapeError, type Tensor } from './tensor.js';

/** n values drawn uniformly from ±bound, in order. */
export function uniformValues(n: number, bound: number, random: () => number): Float32Array {
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (random() * 2 - 1) * bound;
  return data;
}

function uniform(shape: number[], bound: number, random: () => number): Tensor {
  return tensor(uniformValues(shape.reduce((a, b) => a * b, 1), bound, random), shape);
}

export class Conv1d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    readonly options: Conv1dOptions & { bias?: boolean } = {},
    random: () => number = Math.random,
  ) {
    super();
    positiveInt(inChannels, 'Conv1d: inChannels');
    positiveInt(outChannels, 'Conv1d: outChannels');
    positiveInt(kernelSize, 'Conv1d: kernelSize');
    positiveInt(options.stride ?? 1, 'Conv1d: stride');
    positiveInt(options.dilation ?? 1, 'Conv1d: dilation');
    nonNegativeInt(options.padding ?? 0, 'Conv1d: padding');
    const bound = 1 / Math.sqrt(inChannels * kernelSize);
    this.weight = this.parameter('weight', uniform([outChannels, inChannels, kernelSize], bound, random));
    this.bias = options.bias === false ? null : this.parameter('bias', uniform([outChannels], bound, random));
  }
  forward(x: Tensor): Tensor {
    return conv1d(x, this.weight, this.bias, this.options);
  }
}

/** A Linear's initial weight [out, in] and bias [out], given rather than drawn. */
export interface LinearInit {
  weight: Float32Array;
  bias: Float32Array;
}

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    init: (() => number) | LinearInit = Math.random,
  ) {
    super();
    positiveInt(inFeatures, 'Linear: inFeatures');
    positiveInt(outFeatures, 'Linear: outFeatures');
    if (typeof init === 'function') {
      const bound = 1 / Math.sqrt(inFeatures);
      this.weight = this.parameter('weight', uniform([outFeatures, inFeatures], bound, init));
      this.bias = this.parameter('bias', uniform([outFeatures], bound, init));
    } else {
      if (init.weight.length !== outFeatures * inFeatures || init.bias.length !== outFeatures) {
        throw new ShapeError(`Linear(${inFeatures}, ${outFeatures}): initial weight of ${init.weight.length} and bias of ${init.bias.length} values, expected ${outFeatures * inFeatures} and ${outFeatures}`);
      }
      this.weight = this.parameter('weight', tensor(init.weight, [outFeatures, inFeatures]));
      this.bias = this.parameter('bias', tensor(init.bias, [outFeatures]));
    }
  }
  forward(x: Tensor, activation?: 'relu'): Tensor {
    return linear(x, this.weight, this.bias, activation);
  }
}

export class BatchNorm1d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  constructor(
    readonly channels: number,
    /** Mutable: adapting to a speaker (model/adapt.ts) averages over batches with each batch's share of the windows. */
    public momentum = 0.1,
    readonly eps = 1e-5,
  ) {
    super();
    positiveInt(channels, 'BatchNorm1d: channels');
    this.weight = this.parameter('weight', ones([channels]));
    this.bias = this.parameter('bias', zeros([channels]));
    // torch's state-dict names, so checkpoints map one-to-one onto nn.BatchNorm1d.
    this.runningMean = this.buffer('running_mean', zeros([channels]));
    this.runningVar = this.buffer('running_var', ones([channels]));
  }
  /** With `activation: 'relu'`, relu(batchNorm(x)) in one fused kernel. */
  forward(x: Tensor, activation?: 'relu'): Tensor {
    return batchNorm1d(x, this.weight, this.bias, { runningMean: this.runningMean, runningVar: this.runningVar }, this.training, this.momentum, this.eps, activation);
  }
}

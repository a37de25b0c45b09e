// Differentiable operations. Each op checks its arguments (before anything is dispatched, with errors that
// name the tensor, its shape and the parameter), computes its output with the backend's kernels, and records
// beside it how the output's gradient flows back to its inputs. Semantics follow torch.nn.functional.

import type { Storage } from '../kernels/backend.js';
import { conv1dGeometry, pool1dGeometry, type Conv1dParams, type Pool1dParams } from '../kernels/geometry.js';
import type { PerStep } from '../kernels/optim.js';
import * as k from '../kernels/index.js';
import { boundedOutput, fitsBinding, nonNegativeInt, normaliseDim, positiveInt, rank, usable, workgroupLimit } from './checks.js';
import { isGradEnabled, ShapeError, Tensor } from './tensor.js';

export { MAX_TENSOR_ELEMENTS, ones, tensor, zeros, type TensorOptions } from './creation.js';

function result(x: Tensor, storage: Storage, shape: number[]): Tensor {
  return new Tensor(storage, shape, x.backend);
}

// ---------------------------------------------------------------------------------------------- shape

/** A view with another shape over the same storage (-1 infers one dimension). Not [] (a scalar): tensor() makes
 * none, and ops take a scalar as [1]; softmax of a [] view asked the device for a buffer of NaN bytes. */
export function reshape(x: Tensor, shape: number[]): Tensor {
  usable('reshape', x);
  if (!Array.isArray(shape) || shape.length === 0 || shape.some((d) => !Number.isInteger(d) || (d < 1 && d !== -1)) || shape.filter((d) => d === -1).length > 1) {
    throw new ShapeError(`reshape: cannot view ${x.describe()} as [${shape}]: sizes must be a non-empty list of positive integers, with at most one -1 to infer`);
  }
  const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const resolved = shape.map((d) => (d === -1 ? x.size / known : d));
  if (shape.filter((d) => d === -1).length > 1 || resolved.reduce((a, b) => a * b, 1) !== x.size || resolved.some((d) => !Number.isInteger(d))) {
    throw new ShapeError(`reshape: ${x.describe()} (${x.size} elements) cannot be viewed as [${shape}]`);
  }
  const out = new Tensor(x.storage, resolved, x.backend, false, x);
  return out.setGradFn([x], (g) => [reshape(g, x.shape)]);
}

export function flatten(x: Tensor): Tensor {
  return reshape(x, [x.shape[0], -1]);
}

/** Concatenation along `dim` (the feature axis, for joining the gender one-hot to pooled features). */
export function concat(tensors: Tensor[], dim: number): Tensor {
  if (tensors.length === 0) throw new ShapeError('concat: no tensors given');
  usable('concat', ...tensors);
  const rank = tensors[0].shape.length;
  const axis = normaliseDim(dim, rank, 'concat');
  for (const t of tensors) {
    if (t.shape.length !== rank || t.shape.some((d, i) => i !== axis && d !== tensors[0].shape[i])) {
      throw new ShapeError(`concat along dim ${dim}: ${t.describe()} does not match ${tensors[0].describe()} outside that dim`);
    }
  }
  const outShape = [...tensors[0].shape];
  outShape[axis] = tensors.reduce((s, t) => s + t.shape[axis], 0);
  boundedOutput('concat', outShape);
  const backend = tensors[0].backend;
  const out = new Tensor(k.concat(backend, tensors.map((t) => t.storage), tensors.map((t) => t.shape), axis), outShape, backend);
  return out.setGradFn(tensors, (g) => {
    let start = 0;
    return tensors.map((t) => {
      // Inputs without a gradient (the gender one-hot beside the features) get no slice: a dispatch less.
      const part = t.requiresGrad ? result(g, k.slice(backend, g.storage, g.shape, axis, start, t.shape[axis]), [...t.shape]) : null;
      start += t.shape[axis];
      return part;
    });
  });
}

// ---------------------------------------------------------------------------------------------- elementwise

function unaryOp(op: k.UnaryOp) {
  return (x: Tensor): Tensor => {
    usable(op, x);
    const y = result(x, k.unary(x.backend, op, x.storage), [...x.shape]);
    return y.setGradFn([x], (g) => [result(x, k.unaryBackward(x.backend, op, x.storage, y.storage, g.storage), [...x.shape])]);
  };
}

export const relu = unaryOp('relu');
export const sigmoid = unaryOp('sigmoid');
export const tanh = unaryOp('tanh');
export const exp = unaryOp('exp');
export const log = unaryOp('log');
export const neg = unaryOp('neg');
export const abs = unaryOp('abs');
export const sqrt = unaryOp('sqrt');
export const square = unaryOp('square');
export const gelu = unaryOp('gelu');
export const leakyRelu = unaryOp('leakyRelu');
export const silu = unaryOp('silu');

/** alpha·x + beta. */
export function affine(x: Tensor, alpha: number, beta = 0): Tensor {
  usable('affine', x);
  const y = result(x, k.affine(x.backend, x.storage, alpha, beta), [...x.shape]);
  // A shift alone (alpha = 1) passes the gradient through as it is: a view, not a pass.
  return y.setGradFn([x], (g) => [alpha === 1 ? reshape(g, x.shape) : result(g, k.affine(g.backend, g.storage, alpha, 0), [...x.shape])]);
}

export const scale = (x: Tensor, factor: number) => affine(x, factor, 0);

function broadcastShapes(a: number[], b: number[], op: string): [number[], number[], number[]] {
  const rank = Math.max(a.length, b.length);
  const pa = [...Array(rank - a.length).fill(1), ...a];
  const pb = [...Array(rank - b.length).fill(1), ...b];
  const out = pa.map((d, i) => {
    if (d === pb[i] || pb[i] === 1) return d;
    if (d === 1) return pb[i];
    throw new ShapeError(`${op}: shapes [${a}] and [${b}] do not broadcast (dim ${i}: ${d} vs ${pb[i]})`);
  });
  return [pa, pb, out];
}

function binaryOp(op: 'add' | 'sub' | 'mul' | 'div') {
  return (a: Tensor, b: Tensor): Tensor => {
    usable(op, a, b);
    const [pa, pb, outShape] = broadcastShapes(a.shape, b.shape, op);
    boundedOutput(op, outShape);
    const backend = a.backend;
    const y = new Tensor(k.binary(backend, op, a.storage, pa, b.storage, pb, outShape), outShape, backend);
    return y.setGradFn([a, b], (g) => {
      // Gradient of each operand at full (broadcast) shape, then summed back down to the operand's shape.
      // scale: −1 for sub's b, folded into the summation where there is one.
      const reduce = (full: Tensor, shape: number[], padded: number[], scale = 1): Tensor => {
        if (padded.every((d, i) => d === outShape[i])) {
          if (scale === 1) {
            // Disposed here, not left to the finaliser: a buffer freed by the garbage collector comes back to the
            // pool at a different point every step, and the step's bind groups then miss their cache.
            const view = reshape(full, shape);
            full.dispose();
            return view;
          }
          const s = result(full, k.affine(backend, full.storage, scale, 0), [...shape]);
          full.dispose();
          return s;
        }
        const s = result(full, k.sumTo(backend, full.storage, outShape, padded, scale), [...shape]);
        full.dispose();
        return s;
      };
      const ga = (): Tensor => {
        if (op === 'add' || op === 'sub') return reduce(reshape(g, outShape), a.shape, pa);
        if (op === 'mul') return reduce(result(g, k.binary(backend, 'mul', g.storage, outShape, b.storage, pb, outShape), outShape), a.shape, pa);
        return reduce(result(g, k.binary(backend, 'div', g.storage, outShape, b.storage, pb, outShape), outShape), a.shape, pa);
      };
      const gb = (): Tensor => {
        if (op === 'add') return reduce(reshape(g, outShape), b.shape, pb);
        if (op === 'sub') return reduce(reshape(g, outShape), b.shape, pb, -1);
        if (op === 'mul') return reduce(result(g, k.binary(backend, 'mul', g.storage, outShape, a.storage, pa, outShape), outShape), b.shape, pb);
        // d(a/b)/db = -a/b² = -y/b
        const yOverB = k.binary(backend, 'div', y.storage, outShape, b.storage, pb, outShape);
        const full = k.binary(backend, 'mul', g.storage, outShape, yOverB, outShape, outShape);
        backend.release(yOverB);
        const negated = k.affine(backend, full, -1, 0);
        backend.release(full);
        return reduce(result(g, negated, outShape), b.shape, pb);
      };
      return [a.requiresGrad ? ga() : null, b.requiresGrad ? gb() : null];
    });
  };
}

export const add = binaryOp('add');
export const sub = binaryOp('sub');
export const mul = binaryOp('mul');
export const div = binaryOp('div');

// ---------------------------------------------------------------------------------------------- reductions

/** Sum over `dim` (all dims when omitted); the dim is removed unless keepDim. */
export function sum(x: Tensor, dim?: number, keepDim = false): Tensor {
  return scaledSum(x, dim, keepDim, 1, 'sum');
}

/** Mean over `dim` (all dims when omitted), as torch.mean: a sum whose 1/count is folded into its last pass. */
export function mean(x: Tensor, dim?: number, keepDim = false): Tensor {
  const count = dim === undefined ? x.size : x.shape[normaliseDim(dim, x.shape.length, 'mean')];
  return scaledSum(x, dim, keepDim, 1 / count, 'mean');
}

/** scale · Σ over dim; backward: the gradient repeated over dim, times scale. */
function scaledSum(x: Tensor, dim: number | undefined, keepDim: boolean, scale: number, op: string): Tensor {
  usable(op, x);
  const axes = dim === undefined ? x.shape.map((_, i) => i) : [normaliseDim(dim, x.shape.length, op)];
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outShape = keepDim ? kept : dim === undefined ? [1] : x.shape.filter((_, i) => !axes.includes(i));
  const y = result(x, k.sumTo(x.backend, x.storage, x.shape, kept, scale), outShape.length ? outShape : [1]);
  return y.setGradFn([x], (g) => {
    const repeated = k.broadcastTo(g.backend, g.storage, kept, x.shape);
    if (scale === 1) return [result(g, repeated, [...x.shape])];
    const scaled = k.affine(g.backend, repeated, scale, 0);
    g.backend.release(repeated);
    return [result(g, scaled, [...x.shape])];
  });
}

// ---------------------------------------------------------------------------------------------- convolution, pooling

export interface Conv1dOptions {
  stride?: number;
  padding?: number;
  dilation?: number;
}

/** x [N,Cin,L], w [Cout,Cin,K], b [Cout] → [N,Cout,Lout]. */
export function conv1d(x: Tensor, w: Tensor, b: Tensor | undefined | null, options: Conv1dOptions = {}): Tensor {
  const p: Conv1dParams = { stride: options.stride ?? 1, padding: options.padding ?? 0, dilation: options.dilation ?? 1 };
  positiveInt(p.stride, 'conv1d: stride');
  positiveInt(p.dilation, 'conv1d: dilation');
  nonNegativeInt(p.padding, 'conv1d: padding');
  rank(x, 3, 'conv1d input (N, C_in, L)');
  rank(w, 3, 'conv1d weight (C_out, C_in, K)');
  usable('conv1d', x, w, b);
  const [N, Cin] = x.shape;
  const [Cout, wCin, K] = w.shape;
  if (wCin !== Cin) throw new ShapeError(`conv1d: input ${x.describe()} has ${Cin} channels but weight ${w.describe()} expects ${wCin}`);
  if (b && (b.shape.length !== 1 || b.shape[0] !== Cout)) throw new ShapeError(`conv1d: bias ${b.describe()} must be [${Cout}]`);
  // Every GPU variant of the forward and input-gradient passes runs one workgroup layer per sample (z = N). The
  // runtime refused a larger batch only after the output had been allocated, and that buffer was never released.
  const maxBatch = workgroupLimit(x.backend);
  if (N > maxBatch) throw new ShapeError(`conv1d: input ${x.describe()} has a batch of ${N}, more than the ${maxBatch} samples this adapter convolves in one pass (maxComputeWorkgroupsPerDimension): split the batch`);
  const geometry = conv1dGeometry(x.shape, w.shape, p);
  if (geometry.Lout < 1) {
    throw new ShapeError(`conv1d: kernel ${K} (dilation ${p.dilation}) is longer than input ${x.describe()} padded by ${p.padding}`);
  }
  const backend = x.backend;
  const outShape = [N, Cout, geometry.Lout];
  boundedOutput('conv1d', outShape);
  const y = new Tensor(k.conv1d(backend, x.storage, w.storage, b?.storage ?? null, geometry), outShape, backend);
  const parents = b ? [x, w, b] : [x, w];
  return y.setGradFn(parents, (g) => [
    x.requiresGrad ? result(g, k.conv1dBackwardInput(backend, g.storage, w.storage, geometry), [...x.shape]) : null,
    w.requiresGrad ? result(g, k.conv1dBackwardWeight(backend, g.storage, x.storage, geometry), [...w.shape]) : null,
    b?.requiresGrad ? result(g, k.sumTo(backend, g.storage, outShape, [1, Cout, 1]), [Cout]) : null,
  ]);
}

export interface Pool1dOptions {
  kernelSize: number;
  stride?: number;
  padding?: number;
}

/** The pooling geometry of x, after checking the parameters. */
function poolGeometry(x: Tensor, options: Pool1dOptions, op: string) {
  const p: Pool1dParams = { kernelSize: options.kernelSize, stride: options.stride ?? options.kernelSize, padding: options.padding ?? 0 };
  positiveInt(p.kernelSize, `${op}: kernelSize`);
  positiveInt(p.stride, `${op}: stride`);
  nonNegativeInt(p.padding, `${op}: padding`);
  if (p.padding * 2 > p.kernelSize) throw new ShapeError(`${op}: padding ${p.padding} must be at most half of kernelSize ${p.kernelSize}`);
  usable(op, x);
  rank(x, 3, `${op} input (N, C, L)`);
  if (x.shape[2] + 2 * p.padding < p.kernelSize) {
    throw new ShapeError(`${op}: kernelSize ${p.kernelSize} is longer than input ${x.describe()} padded by ${p.padding}`);
  }
  return pool1dGeometry(x.shape, p);
}

export function maxPool1d(x: Tensor, options: Pool1dOptions): Tensor {
  const g = poolGeometry(x, options, 'maxPool1d');
  const y = result(x, k.maxPool1d(x.backend, x.storage, g), [g.N, g.C, g.Lout]);
  return y.setGradFn([x], (dy) => [result(dy, k.maxPool1dBackward(x.backend, x.storage, dy.storage, g), [...x.shape])]);
}

export function avgPool1d(x: Tensor, options: Pool1dOptions): Tensor {
  const g = poolGeometry(x, options, 'avgPool1d');
  const y = result(x, k.avgPool1d(x.backend, x.storage, g), [g.N, g.C, g.Lout]);
  return y.setGradFn([x], (dy) => [result(dy, k.avgPool1dBackward(x.backend, dy.storage, g), [...x.shape])]);
}

/** x [N,C,L] → [N,2C]: each channel's mean over L, then its sd sqrt(mean((x − mean)²) + eps) (x-vector pooling). */
export function statsPool(x: Tensor, eps = 1e-5): Tensor {
  usable('statsPool', x);
  rank(x, 3, 'statsPool input (N, C, L)');
  const y = result(x, k.statsPool(x.backend, x.storage, x.shape, eps), [x.shape[0], 2 * x.shape[1]]);
  return y.setGradFn([x], (g) => [result(g, k.statsPoolBackward(x.backend, x.storage, y.storage, g.storage, x.shape), [...x.shape])]);
}

/** z [N,2F,T] (F real channels, then F imaginary) → log(re² + im² + floor) [N,F,T]: band log energies. */
export function logEnergy(z: Tensor, floor: number): Tensor {
  usable('logEnergy', z);
  rank(z, 3, 'logEnergy input (N, 2F, T)');
  const [N, twoF, T] = z.shape;
  if (twoF % 2 !== 0) throw new ShapeError(`logEnergy: input ${z.describe()} must have an even channel count (real, then imaginary)`);
  const inner = (twoF / 2) * T;
  const y = result(z, k.logEnergy(z.backend, z.storage, N, inner, floor), [N, twoF / 2, T]);
  return y.setGradFn([z], (g) => [result(g, k.logEnergyBackward(z.backend, z.storage, g.storage, N, inner, floor), [...z.shape])]);
}

// ---------------------------------------------------------------------------------------------- matrix products

/** a [M,K] · b [K,N]. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  rank(a, 2, 'matmul: a');
  rank(b, 2, 'matmul: b');
  usable('matmul', a, b);
  const [M, K] = a.shape;
  const [bK, N] = b.shape;
  if (bK !== K) throw new ShapeError(`matmul: ${a.describe()} · ${b.describe()}: inner dimensions ${K} and ${bK} differ`);
  boundedOutput('matmul', [M, N]);
  const backend = a.backend;
  fitsBinding('matmul', backend, [M, N], `${a.describe()} · ${b.describe()}`);
  const y = new Tensor(k.gemm(backend, a.storage, b.storage, { M, N, K }), [M, N], backend);
  return y.setGradFn([a, b], (g) => [
    // dA = dC·Bᵀ, dB = Aᵀ·dC
    a.requiresGrad ? result(g, k.gemm(backend, g.storage, b.storage, { M, N: K, K: N, transB: true }), [M, K]) : null,
    b.requiresGrad ? result(g, k.gemm(backend, a.storage, g.storage, { M: K, N, K: M, transA: true }), [K, N]) : null,
  ]);
}

/** x [B,in] · wᵀ (w [out,in]) + b [out] → [B,out], as torch.nn.functional.linear. Leading dims of x are flattened. */
export function linear(x: Tensor, w: Tensor, b?: Tensor | null, activation?: 'relu'): Tensor {
  rank(w, 2, 'linear weight (out, in)');
  usable('linear', x, w, b);
  const [outF, inF] = w.shape;
  if (x.shape[x.shape.length - 1] !== inF) throw new ShapeError(`linear: input ${x.describe()} has ${x.shape[x.shape.length - 1]} features but weight ${w.describe()} expects ${inF}`);
  if (b && (b.shape.length !== 1 || b.shape[0] !== outF)) throw new ShapeError(`linear: bias ${b.describe()} must be [${outF}]`);
  const rows = x.size / inF;
  boundedOutput('linear', [...x.shape.slice(0, -1), outF]);
  const backend = x.backend;
  fitsBinding('linear', backend, [...x.shape.slice(0, -1), outF], `input ${x.describe()} and weight ${w.describe()}`);
  const y = new Tensor(k.gemm(backend, x.storage, w.storage, { M: rows, N: outF, K: inF, transB: true, bias: b?.storage, activation }), [...x.shape.slice(0, -1), outF], backend);
  const parents = b ? [x, w, b] : [x, w];
  return y.setGradFn(parents, (g) => {
    // With the fused relu, the incoming gradient is masked by y > 0 first.
    const gz = activation === 'relu' ? result(g, k.unaryBackward(backend, 'relu', y.storage, y.storage, g.storage), [...g.shape]) : g;
    const grads = [
      x.requiresGrad ? result(g, k.gemm(backend, gz.storage, w.storage, { M: rows, N: inF, K: outF }), [...x.shape]) : null,
      w.requiresGrad ? result(g, k.gemm(backend, gz.storage, x.storage, { M: outF, N: inF, K: rows, transA: true }), [outF, inF]) : null,
      b?.requiresGrad ? result(g, k.sumTo(backend, gz.storage, [rows, outF], [1, outF]), [outF]) : null,
    ];
    if (gz !== g) gz.dispose();
    return grads;
  });
}

// ---------------------------------------------------------------------------------------------- normalisation, regularisation

export interface BatchNormState {
  runningMean: Tensor;
  runningVar: Tensor;
}

/** Batch normalisation over the channels of x [N,C] or [N,C,L]. In training mode it uses the batch statistics
 * and updates the running ones (momentum as torch: running = (1−m)·running + m·batch, unbiased variance); in
 * eval mode it uses the running ones, and is differentiable with them as constants (as torch's, for fine-tuning
 * with frozen statistics or input gradients).
 * `activation: 'relu'` fuses relu(batchNorm1d(x)) into one kernel. */
export function batchNorm1d(x: Tensor, gamma: Tensor, beta: Tensor, state: BatchNormState, training: boolean, momentum = 0.1, eps = 1e-5, activation?: 'relu'): Tensor {
  usable('batchNorm1d', x, gamma, beta, state.runningMean, state.runningVar);
  if (x.shape.length !== 2 && x.shape.length !== 3) throw new ShapeError(`batchNorm1d: input ${x.describe()} must be (N, C) or (N, C, L)`);
  // NaN had gone into the running statistics in silence (and from there into checkpoints), a negative eps into sqrt.
  if (typeof momentum !== 'number' || !(momentum >= 0 && momentum <= 1)) throw new ShapeError(`batchNorm1d: momentum must be a number from 0 to 1, got ${momentum}`);
  if (typeof eps !== 'number' || !(eps > 0 && eps < Infinity)) throw new ShapeError(`batchNorm1d: eps must be a positive finite number, got ${eps}`);
  const [N, C] = x.shape;
  const L = x.shape[2] ?? 1;
  for (const t of [gamma, beta, state.runningMean, state.runningVar]) {
    if (t.shape.length !== 1 || t.shape[0] !== C) throw new ShapeError(`batchNorm1d: ${t.describe()} must be [${C}] for input ${x.describe()}`);
  }
  const shape = [N, C, L];
  const backend = x.backend;
  const relu = activation === 'relu';
  if (!training) {
    const y = result(x, k.batchNormApply(backend, x.storage, shape, state.runningMean.storage, state.runningVar.storage, gamma.storage, beta.storage, eps, relu), [...x.shape]);
    // Inference (no gradient wanted) stops at the fused kernel: nothing more is dispatched or kept.
    if (!isGradEnabled() || ![x, gamma, beta].some((t) => t.requiresGrad)) return y;
    return batchNormEvalBackward(y, x, gamma, beta, state, shape, eps, relu);
  }
  if (N * L < 2) throw new ShapeError(`batchNorm1d: training needs more than one value per channel, got input ${x.describe()}`);
  // The forward kernel also updates the running statistics in place (modules hold on to those tensors).
  const stats = k.batchNormForward(backend, x.storage, shape, gamma.storage, beta.storage, eps, relu, { mean: state.runningMean.storage, variance: state.runningVar.storage, momentum });
  const y = result(x, stats.y, [...x.shape]);
  const mean = new Tensor(stats.mean, [C], backend);
  const variance = new Tensor(stats.variance, [C], backend);
  return y.setGradFn([x, gamma, beta], (g) => {
    // After the fused relu, the gradient passes where y > 0 (exactly where the normalised value was positive).
    const r = k.batchNormBackward(backend, x.storage, g.storage, shape, mean.storage, variance.storage, gamma.storage, eps, relu ? y.storage : undefined);
    return [result(g, r.dx, [...x.shape]), result(g, r.dgamma, [C]), result(g, r.dbeta, [C])];
  });
}

/** Records the backward of eval-mode batch norm y = (x − mean)/std·gamma + beta (std = sqrt(var + eps)), with the
 * running statistics as constants, as torch's: dx = g·gamma/std, dgamma = Σ g·(x − mean)/std, dbeta = Σ g, summed
 * over N and L, with g masked by y > 0 first after the fused relu. The statistics are copied now: a training forward of the
 * same module before this backward updates them in place, and the gradient must be that of the values used. */
function batchNormEvalBackward(y: Tensor, x: Tensor, gamma: Tensor, beta: Tensor, state: BatchNormState, shape: number[], eps: number, relu: boolean): Tensor {
  const backend = x.backend;
  const C = shape[1];
  const perChannel = [1, C, 1];
  const shifted = k.affine(backend, state.runningVar.storage, 1, eps);
  const std = new Tensor(k.unary(backend, 'sqrt', shifted), [C], backend);
  backend.release(shifted);
  const mean = new Tensor(k.affine(backend, state.runningMean.storage, 1, 0), [C], backend);
  return y.setGradFn([x, gamma, beta], (g) => {
    const gz = relu ? k.unaryBackward(backend, 'relu', y.storage, y.storage, g.storage) : g.storage;
    let dx: Tensor | null = null;
    if (x.requiresGrad) {
      const scale = k.binary(backend, 'div', gamma.storage, [C], std.storage, [C], [C]);
      dx = result(g, k.binary(backend, 'mul', gz, shape, scale, perChannel, shape), [...x.shape]);
      backend.release(scale);
    }
    let dgamma: Tensor | null = null;
    if (gamma.requiresGrad) {
      // Σ g·(x − mean), then divided by std per channel: the division on [C] rather than on every element.
      const centred = k.binary(backend, 'sub', x.storage, shape, mean.storage, perChannel, shape);
      const product = k.binary(backend, 'mul', gz, shape, centred, shape, shape);
      backend.release(centred);
      const summed = k.sumTo(backend, product, shape, perChannel);
      backend.release(product);
      dgamma = result(g, k.binary(backend, 'div', summed, [C], std.storage, [C], [C]), [C]);
      backend.release(summed);
    }
    const dbeta = beta.requiresGrad ? result(g, k.sumTo(backend, gz, shape, perChannel), [C]) : null;
    if (relu) backend.release(gz);
    return [dx, dgamma, dbeta];
  });
}

/** Inverted dropout: in training, zeroes each element with probability p and scales the rest by 1/(1−p), by a mask
 * that `seed` determines. A function for the seed is called once, when the mask is drawn, and again at each replay
 * of a captured step (captured-step.ts): it gives each step its own mask. */
export function dropout(x: Tensor, p: number, training: boolean, seed: PerStep<number>): Tensor {
  usable('dropout', x);
  if (!(p >= 0 && p < 1)) throw new ShapeError(`dropout: p must be in [0, 1), got ${p}`);
  if (!training || p === 0) return x;
  const backend = x.backend;
  const { y: kept, mask } = k.dropout(backend, x.storage, p, seed);
  const y = result(x, kept, [...x.shape]);
  const maskTensor = new Tensor(mask, [x.size], backend);
  return y.setGradFn([x], (g) => [result(g, k.binary(backend, 'mul', g.storage, [x.size], maskTensor.storage, [x.size], [x.size]), [...x.shape])]);
}

/** SpecAugment's masking of x [N, C, L] (bands × frames): in training, each example's `masks` random spans of up
 * to maxBands channels and `masks` of up to maxFrames steps are zeroed (the mean, on batch-normalised features); in
 * eval mode, x as it is. The seed is read as dropout's is: once when the mask is drawn, and at each replay. */
export function spanMask(x: Tensor, options: k.SpanMaskOptions, training: boolean, seed: PerStep<number>): Tensor {
  usable('spanMask', x);
  rank(x, 3, 'spanMask: x (N, C, L)');
  if (!training || options.masks === 0 || (options.maxBands === 0 && options.maxFrames === 0)) return x;
  // An intermediate as any other (dropout's mask too): its scope, or the graph that needs it, frees it.
  return mul(x, new Tensor(k.spanMask(x.backend, x.shape as [number, number, number], options, seed), [...x.shape], x.backend));
}

// ---------------------------------------------------------------------------------------------- softmax, losses

/** Softmax over the last dimension. */
export function softmax(x: Tensor): Tensor {
  usable('softmax', x);
  const cols = x.shape[x.shape.length - 1];
  const rows = x.size / cols;
  const backend = x.backend;
  const y = result(x, k.softmax(backend, x.storage, rows, cols), [...x.shape]);
  return y.setGradFn([x], (g) => [result(g, k.softmaxBackward(backend, y.storage, g.storage, rows, cols), [...x.shape])]);
}

export interface CrossEntropyOptions {
  /** Per-class weights [C] (torch's `weight`): the loss is Σ w[t]·l / Σ w[t]. */
  weight?: Tensor;
}

/** Mean cross-entropy of logits [B,C] against class indices, fused with the softmax (as torch's cross_entropy). */
export function crossEntropy(logits: Tensor, targets: Int32Array | number[], options: CrossEntropyOptions = {}): Tensor {
  usable('crossEntropy', logits, options.weight);
  rank(logits, 2, 'crossEntropy logits (B, C)');
  const [B, C] = logits.shape;
  if (targets.length !== B) throw new ShapeError(`crossEntropy: ${targets.length} targets for logits ${logits.describe()} (batch ${B})`);
  // Checked before the conversion to Int32Array, which would silently truncate 0.5 to 0 (and wrap 2**32 to 0).
  for (let i = 0; i < targets.length; i++) {
    const c = targets[i];
    if (typeof c !== 'number' || !Number.isInteger(c)) throw new ShapeError(`crossEntropy: target ${i} is ${c}, not a class index (an integer from 0 to ${C - 1})`);
    if (c < 0 || c >= C) throw new ShapeError(`crossEntropy: target ${i} is ${c}, outside the ${C} classes of logits ${logits.describe()}`);
  }
  const t = targets instanceof Int32Array ? targets : Int32Array.from(targets);
  const w = options.weight;
  if (w && (w.shape.length !== 1 || w.shape[0] !== C)) throw new ShapeError(`crossEntropy: weight ${w.describe()} must be [${C}]`);
  const backend = logits.backend;
  const targetStorage = backend.uploadIndices(t, 'targets');
  const targetTensor = new Tensor(targetStorage, [B], backend); // owns the upload, freed with the graph
  const { loss, probs } = k.softmaxCrossEntropy(backend, logits.storage, targetStorage, B, C, w?.storage ?? null);
  const probsTensor = new Tensor(probs, [B, C], backend);
  const y = result(logits, loss, [1]);
  return y.setGradFn([logits], (g) => [
    result(g, k.softmaxCrossEntropyBackward(backend, probsTensor.storage, targetTensor.storage, g.storage, B, C, w?.storage ?? null), [B, C]),
  ]);
}

// ---------------------------------------------------------------------------------------------- checks

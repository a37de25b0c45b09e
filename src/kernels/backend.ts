// The WebGPU backend: the Backend interface, served by the kernel families of this folder. Each family
// module (elementwise, conv1d, pool1d, gemm, normalization, softmax, optim) owns its WGSL in shaders/, its
// dispatch and tiling; this class only routes calls to them.

import type { AdamOptions, Backend, BinaryOp, Conv1dParams, GemmOptions, Pool1dParams, Storage, UnaryOp } from '../engine/backend.js';
import type { GpuRuntime } from '../engine/runtime.js';
import * as conv from './conv1d.js';
import * as ew from './elementwise.js';
import * as gemm from './gemm.js';
import * as norm from './normalization.js';
import * as optim from './optim.js';
import * as pool from './pool1d.js';
import * as softmax from './softmax.js';
import { GpuStorage, gpuStorage } from './storage.js';

export class WebGpuBackend implements Backend {
  readonly name = 'webgpu' as const;
  constructor(readonly rt: GpuRuntime) {}

  upload(data: Float32Array, label = 'tensor'): Storage {
    return new GpuStorage(this.rt.upload(data, label), data.length);
  }
  uploadIndices(data: Int32Array, label = 'indices'): Storage {
    return new GpuStorage(this.rt.upload(data, label), data.length);
  }
  zeros(length: number, label = 'zeros'): Storage {
    const s = new GpuStorage(this.rt.allocate(length * 4, label), length);
    this.rt.clear(s.buffer, length * 4);
    return s;
  }
  fill(length: number, value: number): Storage {
    return value === 0 ? this.zeros(length) : ew.fill(this.rt, length, value);
  }
  async download(s: Storage): Promise<Float32Array> {
    const g = gpuStorage(s);
    return new Float32Array(await this.rt.read(g.buffer, g.length * 4));
  }
  write(s: Storage, data: Float32Array): void {
    // Submit first: queue.writeBuffer would otherwise overtake recorded dispatches that use s.
    this.rt.flush();
    this.rt.device.queue.writeBuffer(gpuStorage(s).buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  }
  release(s: Storage): void {
    this.rt.release(gpuStorage(s).buffer);
  }
  counters() {
    return this.rt.counters();
  }
  flush(): void {
    this.rt.flush();
  }

  unary(op: UnaryOp, x: Storage) { return ew.unary(this.rt, op, x); }
  unaryBackward(op: UnaryOp, x: Storage, y: Storage, dy: Storage) { return ew.unaryBackward(this.rt, op, x, y, dy); }
  binary(op: BinaryOp, a: Storage, aShape: number[], b: Storage, bShape: number[], outShape: number[]) { return ew.binary(this.rt, op, a, aShape, b, bShape, outShape); }
  affine(x: Storage, alpha: number, beta: number) { return ew.affine(this.rt, x, alpha, beta); }
  accumulate(acc: Storage, x: Storage) { ew.accumulate(this.rt, acc, x); }
  sumTo(x: Storage, shape: number[], outShape: number[]) { return ew.sumTo(this.rt, x, shape, outShape); }
  broadcastTo(x: Storage, shape: number[], outShape: number[]) { return ew.broadcastTo(this.rt, x, shape, outShape); }
  concat(inputs: Storage[], shapes: number[][], axis: number) { return ew.concat(this.rt, inputs, shapes, axis); }
  slice(x: Storage, shape: number[], axis: number, start: number, length: number) { return ew.slice(this.rt, x, shape, axis, start, length); }

  conv1d(x: Storage, xShape: number[], w: Storage, wShape: number[], bias: Storage | null, p: Conv1dParams) { return conv.conv1d(this.rt, x, xShape, w, wShape, bias, p); }
  conv1dBackwardInput(dy: Storage, w: Storage, xShape: number[], wShape: number[], p: Conv1dParams) { return conv.conv1dBackwardInput(this.rt, dy, w, xShape, wShape, p); }
  conv1dBackwardWeight(dy: Storage, x: Storage, xShape: number[], wShape: number[], p: Conv1dParams) { return conv.conv1dBackwardWeight(this.rt, dy, x, xShape, wShape, p); }

  maxPool1d(x: Storage, xShape: number[], p: Pool1dParams) { return pool.maxPool1d(this.rt, x, xShape, p); }
  maxPool1dBackward(x: Storage, dy: Storage, xShape: number[], p: Pool1dParams) { return pool.maxPool1dBackward(this.rt, x, dy, xShape, p); }
  avgPool1d(x: Storage, xShape: number[], p: Pool1dParams) { return pool.avgPool1d(this.rt, x, xShape, p); }
  avgPool1dBackward(dy: Storage, xShape: number[], p: Pool1dParams) { return pool.avgPool1dBackward(this.rt, dy, xShape, p); }

  gemm(a: Storage, b: Storage, o: GemmOptions) { return gemm.gemm(this.rt, a, b, o); }

  batchNormStats(x: Storage, shape: number[]) { return norm.batchNormStats(this.rt, x, shape); }
  batchNormApply(x: Storage, shape: number[], mean: Storage, variance: Storage, gamma: Storage, beta: Storage, eps: number, relu = false) { return norm.batchNormApply(this.rt, x, shape, mean, variance, gamma, beta, eps, relu); }
  batchNormBackward(x: Storage, dy: Storage, shape: number[], mean: Storage, variance: Storage, gamma: Storage, eps: number, reluOutput?: Storage) { return norm.batchNormBackward(this.rt, x, dy, shape, mean, variance, gamma, eps, reluOutput); }
  dropoutMask(length: number, p: number, seed: number) { return optim.dropoutMask(this.rt, length, p, seed); }
  softmax(x: Storage, rows: number, cols: number) { return softmax.softmax(this.rt, x, rows, cols); }
  softmaxBackward(y: Storage, dy: Storage, rows: number, cols: number) { return softmax.softmaxBackward(this.rt, y, dy, rows, cols); }
  softmaxCrossEntropy(logits: Storage, targets: Storage, rows: number, cols: number, classWeights: Storage | null) { return softmax.softmaxCrossEntropy(this.rt, logits, targets, rows, cols, classWeights); }
  softmaxCrossEntropyBackward(probs: Storage, targets: Storage, dloss: Storage, rows: number, cols: number, classWeights: Storage | null) { return softmax.softmaxCrossEntropyBackward(this.rt, probs, targets, dloss, rows, cols, classWeights); }
  adamStep(param: Storage, grad: Storage, m: Storage, v: Storage, o: AdamOptions) { optim.adamStep(this.rt, param, grad, m, v, o); }
}

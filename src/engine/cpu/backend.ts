// The CPU backend (`init({ backend: 'cpu' })`): the reference kernels of this folder behind the Backend
// interface. Storage is float32 like the GPU's; the references accumulate in float64.

import type { AdamOptions, Backend, BinaryOp, Conv1dParams, GemmOptions, Pool1dParams, Storage, UnaryOp } from '../backend.js';
import * as ref from './reference.js';
import { CpuStorage, cpuData } from './storage.js';

const wrap = (data: ArrayLike<number>) => new CpuStorage(Float32Array.from(data));
const d = cpuData;
const opt = (s: Storage | null | undefined) => (s ? cpuData(s) : null);

export class CpuBackend implements Backend {
  readonly name = 'cpu' as const;
  private live = 0;
  private liveBytes = 0;

  upload(data: Float32Array): Storage { return this.track(new CpuStorage(Float32Array.from(data))); }
  uploadIndices(data: Int32Array): Storage { return this.track(new CpuStorage(Int32Array.from(data))); }
  zeros(length: number): Storage { return this.track(new CpuStorage(new Float32Array(length))); }
  fill(length: number, value: number): Storage { return this.track(new CpuStorage(new Float32Array(length).fill(value))); }
  async download(s: Storage): Promise<Float32Array> { return Float32Array.from(d(s)); }
  write(s: Storage, data: Float32Array): void { (d(s) as Float32Array).set(data); }
  release(s: Storage): void {
    this.live--;
    this.liveBytes -= s.length * 4;
  }
  counters() { return { liveBuffers: this.live, liveBytes: this.liveBytes, allocatedBuffers: this.live, allocatedBytes: this.liveBytes }; }
  flush(): void {}

  unary(op: UnaryOp, x: Storage) { return this.out(ref.unary(op, d(x))); }
  unaryBackward(op: UnaryOp, x: Storage, y: Storage, dy: Storage) { return this.out(ref.unaryBackward(op, d(x), d(y), d(dy))); }
  binary(op: BinaryOp, a: Storage, aShape: number[], b: Storage, bShape: number[], outShape: number[]) { return this.out(ref.binary(op, d(a), aShape, d(b), bShape, outShape)); }
  affine(x: Storage, alpha: number, beta: number) { return this.out(ref.affine(d(x), alpha, beta)); }
  accumulate(acc: Storage, x: Storage) { (d(acc) as Float32Array).set(ref.accumulate(d(acc), d(x))); }
  sumTo(x: Storage, shape: number[], outShape: number[]) { return this.out(ref.sumTo(d(x), shape, outShape)); }
  broadcastTo(x: Storage, shape: number[], outShape: number[]) { return this.out(ref.broadcastTo(d(x), shape, outShape)); }
  concat(inputs: Storage[], shapes: number[][], axis: number) { return this.out(ref.concat(inputs.map(d), shapes, axis)); }
  slice(x: Storage, shape: number[], axis: number, start: number, length: number) { return this.out(ref.slice(d(x), shape, axis, start, length)); }

  conv1d(x: Storage, xShape: number[], w: Storage, wShape: number[], bias: Storage | null, p: Conv1dParams) { return this.out(ref.conv1d(d(x), xShape, d(w), wShape, opt(bias), p)); }
  conv1dBackwardInput(dy: Storage, w: Storage, xShape: number[], wShape: number[], p: Conv1dParams) { return this.out(ref.conv1dBackwardInput(d(dy), d(w), xShape, wShape, p)); }
  conv1dBackwardWeight(dy: Storage, x: Storage, xShape: number[], wShape: number[], p: Conv1dParams) { return this.out(ref.conv1dBackwardWeight(d(dy), d(x), xShape, wShape, p)); }

  maxPool1d(x: Storage, xShape: number[], p: Pool1dParams) { return this.out(ref.maxPool1d(d(x), xShape, p)); }
  maxPool1dBackward(x: Storage, dy: Storage, xShape: number[], p: Pool1dParams) { return this.out(ref.maxPool1dBackward(d(x), d(dy), xShape, p)); }
  avgPool1d(x: Storage, xShape: number[], p: Pool1dParams) { return this.out(ref.avgPool1d(d(x), xShape, p)); }
  avgPool1dBackward(dy: Storage, xShape: number[], p: Pool1dParams) { return this.out(ref.avgPool1dBackward(d(dy), xShape, p)); }

  gemm(a: Storage, b: Storage, o: GemmOptions) { return this.out(ref.gemm(d(a), d(b), { ...o, bias: opt(o.bias) })); }

  batchNormStats(x: Storage, shape: number[]) {
    const s = ref.batchNormStats(d(x), shape);
    return { mean: this.out(s.mean), variance: this.out(s.variance) };
  }
  batchNormApply(x: Storage, shape: number[], mean: Storage, variance: Storage, gamma: Storage, beta: Storage, eps: number, relu = false) { return this.out(ref.batchNormApply(d(x), shape, d(mean), d(variance), d(gamma), d(beta), eps, relu)); }
  batchNormBackward(x: Storage, dy: Storage, shape: number[], mean: Storage, variance: Storage, gamma: Storage, eps: number, reluOutput?: Storage) {
    const g = ref.batchNormBackward(d(x), d(dy), shape, d(mean), d(variance), d(gamma), eps, reluOutput && d(reluOutput));
    return { dx: this.out(g.dx), dgamma: this.out(g.dgamma), dbeta: this.out(g.dbeta) };
  }
  dropoutMask(length: number, p: number, seed: number) { return this.out(ref.dropoutMask(length, p, seed)); }
  softmax(x: Storage, rows: number, cols: number) { return this.out(ref.softmax(d(x), rows, cols)); }
  softmaxBackward(y: Storage, dy: Storage, rows: number, cols: number) { return this.out(ref.softmaxBackward(d(y), d(dy), rows, cols)); }
  softmaxCrossEntropy(logits: Storage, targets: Storage, rows: number, cols: number, classWeights: Storage | null) {
    const r = ref.softmaxCrossEntropy(d(logits), d(targets), rows, cols, opt(classWeights));
    return { loss: this.out(r.loss), probs: this.out(r.probs) };
  }
  softmaxCrossEntropyBackward(probs: Storage, targets: Storage, dloss: Storage, rows: number, cols: number, classWeights: Storage | null) { return this.out(ref.softmaxCrossEntropyBackward(d(probs), d(targets), d(dloss), rows, cols, opt(classWeights))); }
  adamStep(param: Storage, grad: Storage, m: Storage, v: Storage, o: AdamOptions) {
    const r = ref.adamStep(d(param), d(grad), d(m), d(v), o);
    (d(param) as Float32Array).set(r.param);
    (d(m) as Float32Array).set(r.m);
    (d(v) as Float32Array).set(r.v);
  }

  private out(data: ArrayLike<number>): Storage {
    return this.track(wrap(data));
  }
  private track(s: CpuStorage): Storage {
    this.live++;
    this.liveBytes += s.length * 4;
    return s;
  }
}

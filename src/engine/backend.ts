// The primitive kernels every backend provides: the WebGPU one (src/kernels, hand-written WGSL) and the CPU
// reference (src/engine/cpu, plain TypeScript with float64 accumulation). Autograd (ops.ts) is written once
// against this interface. All tensors are dense, row-major float32; shapes are validated by ops.ts before
// any kernel is called, so kernels may assume them consistent.

export interface Storage {
  /** Number of float32 elements. */
  readonly length: number;
}

export interface Conv1dParams {
  stride: number;
  padding: number;
  dilation: number;
}

export interface Pool1dParams {
  kernelSize: number;
  stride: number;
  padding: number;
}

export type UnaryOp = 'relu' | 'sigmoid' | 'tanh' | 'exp' | 'log' | 'neg' | 'abs' | 'sqrt' | 'square' | 'gelu' | 'leakyRelu';
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div';

export interface GemmOptions {
  /** C[M,N] = op(A)·op(B) (+ bias[N] per row), A is [M,K] ([K,M] if transA), B is [K,N] ([N,K] if transB). */
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
  bias?: Storage;
  /** Applied after the bias (fused). */
  activation?: 'relu';
}

export interface BatchNormStats {
  /** Per-channel batch mean and biased variance, each [C]. */
  mean: Storage;
  variance: Storage;
}

export interface AdamOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step count, for bias correction. */
  step: number;
}

export interface Backend {
  readonly name: 'webgpu' | 'cpu';

  // memory
  upload(data: Float32Array, label?: string): Storage;
  uploadIndices(data: Int32Array, label?: string): Storage;
  zeros(length: number, label?: string): Storage;
  fill(length: number, value: number): Storage;
  download(s: Storage): Promise<Float32Array>;
  /** Overwrites s with data (same length), in order with the work queued before. */
  write(s: Storage, data: Float32Array): void;
  release(s: Storage): void;
  /** Live storage counters (for leak tests and the pool's statistics). */
  counters(): { liveBuffers: number; liveBytes: number; allocatedBuffers: number; allocatedBytes: number };
  /** Submits queued work (no-op on the CPU). */
  flush(): void;

  // elementwise (src/kernels/elementwise.ts)
  unary(op: UnaryOp, x: Storage): Storage;
  /** dx for y = op(x), given x, y and dy. */
  unaryBackward(op: UnaryOp, x: Storage, y: Storage, dy: Storage): Storage;
  /** out = a ∘ b with NumPy broadcasting; shapes have equal rank (ops.ts pads with leading 1s). */
  binary(op: BinaryOp, a: Storage, aShape: number[], b: Storage, bShape: number[], outShape: number[]): Storage;
  /** out = alpha·x + beta. */
  affine(x: Storage, alpha: number, beta: number): Storage;
  /** acc += x, in place (gradient accumulation). */
  accumulate(acc: Storage, x: Storage): void;
  /** Sums x down to outShape (same rank; every out dim equals the x dim or is 1). */
  sumTo(x: Storage, shape: number[], outShape: number[]): Storage;
  /** Repeats x (same rank, dims equal or 1) up to outShape. */
  broadcastTo(x: Storage, shape: number[], outShape: number[]): Storage;
  /** Concatenation along `axis`; every input has the same shape except along axis. */
  concat(inputs: Storage[], shapes: number[][], axis: number): Storage;
  /** The slice [start, start+length) of x along axis (concat's backward). */
  slice(x: Storage, shape: number[], axis: number, start: number, length: number): Storage;

  // convolution (src/kernels/conv1d.ts); x [N,Cin,L], w [Cout,Cin,K], y [N,Cout,Lout]
  conv1d(x: Storage, xShape: number[], w: Storage, wShape: number[], bias: Storage | null, p: Conv1dParams): Storage;
  conv1dBackwardInput(dy: Storage, w: Storage, xShape: number[], wShape: number[], p: Conv1dParams): Storage;
  conv1dBackwardWeight(dy: Storage, x: Storage, xShape: number[], wShape: number[], p: Conv1dParams): Storage;

  // pooling (src/kernels/pool1d.ts); x [N,C,L] -> [N,C,Lout]; average counts padding (count_include_pad)
  maxPool1d(x: Storage, xShape: number[], p: Pool1dParams): Storage;
  /** Gradient goes to the first maximum of each window, recomputed from x (no index buffer). */
  maxPool1dBackward(x: Storage, dy: Storage, xShape: number[], p: Pool1dParams): Storage;
  avgPool1d(x: Storage, xShape: number[], p: Pool1dParams): Storage;
  avgPool1dBackward(dy: Storage, xShape: number[], p: Pool1dParams): Storage;

  // matrix products (src/kernels/gemm.ts)
  gemm(a: Storage, b: Storage, o: GemmOptions): Storage;

  // normalisation, softmax, losses, optimiser, dropout (src/kernels/{normalization,softmax,optim}.ts)
  /** x [N,C,L] (L may be 1): per-channel batch statistics. */
  batchNormStats(x: Storage, shape: number[]): BatchNormStats;
  /** y = (x - mean)/sqrt(var + eps)·gamma + beta per channel. */
  batchNormApply(x: Storage, shape: number[], mean: Storage, variance: Storage, gamma: Storage, beta: Storage, eps: number, relu?: boolean): Storage;
  /** Backward of batchNormApply in training mode (mean/var are the batch's own statistics of x). */
  /** With `reluOutput` (y of a batchNormApply with the fused relu), dy counts only where y > 0. */
  batchNormBackward(x: Storage, dy: Storage, shape: number[], mean: Storage, variance: Storage, gamma: Storage, eps: number, reluOutput?: Storage): { dx: Storage; dgamma: Storage; dbeta: Storage };
  /** A mask of 0 and 1/(1-p), deterministic in seed. */
  dropoutMask(length: number, p: number, seed: number): Storage;
  /** Softmax over the last dim of [rows, cols]. */
  softmax(x: Storage, rows: number, cols: number): Storage;
  softmaxBackward(y: Storage, dy: Storage, rows: number, cols: number): Storage;
  /** Mean (or class-weighted mean, as torch's `weight`) cross-entropy of logits [B,C] against integer targets.
   * Returns the loss [1] and softmax probabilities [B,C] for the backward pass. */
  softmaxCrossEntropy(logits: Storage, targets: Storage, rows: number, cols: number, classWeights: Storage | null): { loss: Storage; probs: Storage };
  /** d logits = dloss · w[t]·(probs - onehot(t)) / Σ w[t]. */
  softmaxCrossEntropyBackward(probs: Storage, targets: Storage, dloss: Storage, rows: number, cols: number, classWeights: Storage | null): Storage;
  /** In place: param, m, v updated by one Adam(W) step. */
  adamStep(param: Storage, grad: Storage, m: Storage, v: Storage, o: AdamOptions): void;
}

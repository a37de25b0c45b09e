// CPU reference of the optimiser step, the dropout mask and SpecAugment's span masks (../optim.ts is the WebGPU
// side).

import type { AdamOptions, SpanMaskOptions } from '../optim.js';

/**
 * One AdamW step (torch.optim.AdamW): decoupled weight decay, then Adam with bias correction.
 * Returns the new param, m and v (the backend writes them back in place).
 */
export function adamStep(
  param: ArrayLike<number>,
  grad: ArrayLike<number>,
  m: ArrayLike<number>,
  v: ArrayLike<number>,
  o: AdamOptions,
): { param: Float64Array; m: Float64Array; v: Float64Array } {
  const n = param.length;
  const out = { param: new Float64Array(n), m: new Float64Array(n), v: new Float64Array(n) };
  const correction1 = 1 - o.beta1 ** o.step;
  const correction2 = 1 - o.beta2 ** o.step;
  for (let i = 0; i < n; i++) {
    const g = grad[i];
    let p = param[i] - o.lr * o.weightDecay * param[i];
    const mi = o.beta1 * m[i] + (1 - o.beta1) * g;
    const vi = o.beta2 * v[i] + (1 - o.beta2) * g * g;
    p -= (o.lr * (mi / correction1)) / (Math.sqrt(vi / correction2) + o.eps);
    out.param[i] = p;
    out.m[i] = mi;
    out.v[i] = vi;
  }
  return out;
}

// The dropout hash, the same bit for bit as shaders/dropout.wgsl: lowbias32 (Chris Wellons' integer hash) in
// u32 arithmetic. Element i is kept when u = (hash(hash(i) ^ hash(seed ^ 0x9e3779b9)) >> 8) / 2^24 >= p, with p
// rounded to float32 as the shader sees it; u has 24 bits, so it is exact in float32.

/** lowbias32: a well-mixed u32 → u32 bijection. */
function hash32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** A mask of 0 and 1/(1 − p): element i is kept when its hashed uniform u ∈ [0, 1) satisfies u >= p. */
export function dropoutMask(length: number, p: number, seed: number): Float64Array {
  const mix = hash32((seed ^ 0x9e3779b9) >>> 0);
  const threshold = Math.fround(p);
  // The GPU gets the same factor as a float32 uniform.
  const scale = p < 1 ? Math.fround(1 / (1 - p)) : 0;
  const mask = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    const u = (hash32((hash32(i) ^ mix) >>> 0) >>> 8) / 16777216;
    mask[i] = u >= threshold ? scale : 0;
  }
  return mask;
}

/** Span masks over x [rows, channels, frames], as shaders/span-mask.wgsl draws them: per row, `masks` spans of
 * bands (widths 0 to maxBands) and `masks` of frames (0 to maxFrames), each from an integer hash of (seed, row,
 * kind, index); 0 inside any span, 1 elsewhere. */
export function spanMask(rows: number, channels: number, frames: number, o: SpanMaskOptions, seed: number): Float64Array {
  const key = hash32((seed ^ 0x85ebca6b) >>> 0);
  const span = (row: number, kind: number, j: number, extent: number, maxWidth: number) => {
    const h = hash32((hash32((row * 8 + kind * 4 + j) >>> 0) ^ key) >>> 0);
    const width = Math.min(h % (maxWidth + 1), extent);
    const start = hash32(h) % (extent - width + 1);
    return [start, start + width];
  };
  const mask = new Float64Array(rows * channels * frames).fill(1);
  for (let row = 0; row < rows; row++) {
    const plane = mask.subarray(row * channels * frames, (row + 1) * channels * frames);
    for (let j = 0; j < o.masks; j++) {
      const [b0, b1] = span(row, 0, j, channels, o.maxBands);
      plane.fill(0, b0 * frames, b1 * frames);
      const [f0, f1] = span(row, 1, j, frames, o.maxFrames);
      for (let c = 0; c < channels; c++) plane.fill(0, c * frames + f0, c * frames + f1);
    }
  }
  return mask;
}

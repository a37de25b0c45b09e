// Softmax and the fused softmax + cross-entropy loss on the GPU (the CPU reference is ./cpu/softmax.ts, beside
// it at the end).
//
// Layout: x, y, dy, dx, logits, probs [rows, cols] dense row-major float32, softmax along cols; targets [rows] int32
// class indices (uploaded with uploadIndices; ops.ts refuses targets outside [0, cols) before any dispatch, so the
// kernels assume them valid); classWeights [cols] or null; loss and dloss [1].
//
//   softmax, softmaxBackward     shaders/softmax.wgsl (BACKWARD picks the pass): `rows` (a thread per row) or `wide`
//                                (a workgroup per row, for long rows); dx = y·(dy − Σ dy·y)
//   softmaxCrossEntropy          shaders/softmax-cross-entropy.wgsl: probs and per-row (w·l, w) by a thread per
//                                row (rows of class scores are short), summed by sumTo (./elementwise.ts), then
//                                their ratio; up to WHOLE_MAX_ROWS rows (a training batch) all in one workgroup,
//                                one dispatch
//   softmaxCrossEntropyBackward  shaders/softmax-cross-entropy-backward.wgsl: (Σ w[t], in one workgroup up to
//                                WHOLE_MAX_ROWS rows, else each row's w[t] summed by sumTo), then the flat gradient
//
// Past WHOLE_MAX_ROWS the sums over rows are sumTo's (partial sums of at most a few hundred values, summed again
// level by level), not one workgroup's, whose 64 threads each kept a running float32 sum of rows / 64 values: at
// 2^21 rows of alike losses those lost 8e-5..5e-4 of the loss, and 2e-4 of Σ w[t] (so of the gradient).
//
// The loss is torch's F.cross_entropy(logits, targets, weight), reduction 'mean': Σ w[t]·(−log p[t]) / Σ w[t].

import { Params } from '../gpu/params.js';
import { grid1d, type GpuRuntime } from '../gpu/runtime.js';
import { allocate, gpuStorage, type Binding, type GpuStorage } from '../gpu/storage.js';
import { defineKernel, type Storage } from './backend.js';
import type { CpuBackend } from './cpu/backend.js';
import { sumToGpu } from './elementwise.js';
import * as ref from './cpu/softmax.js';

import common from '../../shaders/softmax-common.wgsl';
import pairwiseSum from '../../shaders/pairwise-sum.wgsl';
import crossEntropyBackwardKernels from '../../shaders/softmax-cross-entropy-backward.wgsl';
import crossEntropyKernels from '../../shaders/softmax-cross-entropy.wgsl';
import softmaxKernels from '../../shaders/softmax.wgsl';

// WGSL has no includes: the family's uniforms and tree reductions are prepended to each shader, and the pairwise sum
// to those whose threads sum along a row.
const softmaxShader = pairwiseSum + common + softmaxKernels;
const crossEntropyShader = pairwiseSum + common + crossEntropyKernels;
const crossEntropyBackwardShader = common + crossEntropyBackwardKernels;

/** Rows up to which one workgroup computes the whole loss, and the backward's Σ w[t] (a thread per 4 rows at most,
 * so each thread's sum stays short): one dispatch, not a pass per row and sumTo's. */
const WHOLE_MAX_ROWS = 4 * 64;

/** Threads per workgroup: a thread per row, a workgroup per (long) row, and one workgroup over all rows. */
const ROWS_WG = 64;
const WIDE_WG = 64;
const REDUCE_WG = 64;
/** The flat cross-entropy gradient: threads per workgroup × elements per thread. */
const FLAT_WG = 64;
const FLAT_ITEMS = 16;

/**
 * A workgroup per row only for a few long rows, where a thread per row would leave the device idle. On lavapipe
 * (Mesa's CPU Vulkan driver) the thread per row was as fast or faster at every size tried ([16..2048, 7..12000]):
 * there, barriers cost more than the parallelism buys.
 */
const WIDE_MIN_COLS = 1024;
const WIDE_MAX_ROWS = 64;

function rowSplit(rows: number, cols: number) {
  return cols >= WIDE_MIN_COLS && rows <= WIDE_MAX_ROWS
    ? { entryPoint: 'wide', constants: { WG: WIDE_WG }, workgroups: grid1d(rows, 1) }
    : { entryPoint: 'rows', constants: { WG: ROWS_WG }, workgroups: grid1d(rows, ROWS_WG) };
}

/** y = softmax(x), or with `dy` (then `source` is the forward's y) dx = y·(dy − Σ dy·y); a row per thread or workgroup. */
function softmaxPass(rt: GpuRuntime, source: Storage, dy: Storage | null, rows: number, cols: number): Storage {
  const out = allocate(rt, rows * cols, dy ? 'softmax.dx' : 'softmax.y');
  const split = rowSplit(rows, cols);
  const input = gpuStorage(source).binding;
  rt.dispatch({
    kernel: dy ? 'softmaxBackward' : 'softmax',
    shapes: `${dy ? 'y' : 'x'}[${rows},${cols}]`,
    shader: softmaxShader,
    ...split,
    constants: { ...split.constants, BACKWARD: dy ? 1 : 0 },
    params: new Params().u32(rows, cols),
    // Without dy the shader's dy binding takes the input again (never read).
    buffers: [input, dy ? gpuStorage(dy).binding : input, out.binding],
  });
  return out;
}

const softmaxGpu = (rt: GpuRuntime, x: Storage, rows: number, cols: number) => softmaxPass(rt, x, null, rows, cols);
const softmaxBackwardGpu = (rt: GpuRuntime, y: Storage, dy: Storage, rows: number, cols: number) => softmaxPass(rt, y, dy, rows, cols);

function softmaxCrossEntropyGpu(
  rt: GpuRuntime,
  logits: Storage,
  targets: Storage,
  rows: number,
  cols: number,
  classWeights: Storage | null,
): { loss: Storage; probs: Storage } {
  const shapes = `logits[${rows},${cols}] targets[${rows}]` + (classWeights ? ` weights[${cols}]` : '');
  const probs = allocate(rt, rows * cols, 'crossEntropy.probs');
  const loss = allocate(rt, 1, 'crossEntropy.loss');
  const inputs = [gpuStorage(logits).binding, gpuStorage(targets).binding, probs.binding];
  const weights = classWeights ? [gpuStorage(classWeights).binding] : [];
  // The passes over rows differ in entry point, threads, bindings and grid only.
  const pass = (entryPoint: string, kernel: string, wg: number, buffers: Binding[], workgroups: [number, number?]) =>
    rt.dispatch({ kernel, shapes, shader: crossEntropyShader, entryPoint, constants: { WG: wg }, params: new Params().u32(rows, cols), buffers, workgroups });
  if (rows <= WHOLE_MAX_ROWS) {
    pass(classWeights ? 'wholeWeighted' : 'whole', 'softmaxCrossEntropy', REDUCE_WG, [...inputs, loss.binding, ...weights], [1]);
    return { loss, probs };
  }
  // rowLoss [2, rows]: each row's w·l, then its w.
  const rowLoss = allocate(rt, 2 * rows, 'crossEntropy.rowLoss');
  pass(classWeights ? 'rowsWeighted' : 'rows', 'softmaxCrossEntropy.rows', ROWS_WG, [...inputs, rowLoss.binding, ...weights], grid1d(rows, ROWS_WG));
  const sums = gpuStorage(sumToGpu(rt, rowLoss, [2, rows], [2, 1]));
  rt.release(rowLoss.buffer);
  rt.dispatch({ kernel: 'softmaxCrossEntropy.ratio', shapes, shader: crossEntropyShader, entryPoint: 'ratio', buffers: [sums.binding, loss.binding], workgroups: [1] });
  rt.release(sums.buffer);
  return { loss, probs };
}

function softmaxCrossEntropyBackwardGpu(
  rt: GpuRuntime,
  probs: Storage,
  targets: Storage,
  dloss: Storage,
  rows: number,
  cols: number,
  classWeights: Storage | null,
): Storage {
  const shapes = `probs[${rows},${cols}] targets[${rows}]` + (classWeights ? ` weights[${cols}]` : '');
  const dlogits = allocate(rt, rows * cols, 'crossEntropy.dlogits');
  const params = new Params().u32(rows, cols, Math.floor(FLAT_WG / cols), FLAT_WG % cols);
  const buffers = [gpuStorage(probs).binding, gpuStorage(targets).binding, gpuStorage(dloss).binding, dlogits.binding];
  const gradient = { shader: crossEntropyBackwardShader, constants: { WG: FLAT_WG, ITEMS: FLAT_ITEMS }, params, workgroups: grid1d(rows * cols, FLAT_WG * FLAT_ITEMS) };
  if (!classWeights) {
    rt.dispatch({ kernel: 'softmaxCrossEntropyBackward', shapes, entryPoint: 'gradient', buffers, ...gradient });
    return dlogits;
  }
  const weights = gpuStorage(classWeights).binding;
  const weightSum = sumOfWeights(rt, targets, weights, rows, shapes, params);
  rt.dispatch({ kernel: 'softmaxCrossEntropyBackward', shapes, entryPoint: 'gradientWeighted', buffers: [...buffers, weights, weightSum.binding], ...gradient });
  rt.release(weightSum.buffer);
  return dlogits;
}

/** Σ_r w[t_r] [1]: by one workgroup up to WHOLE_MAX_ROWS rows, else each row's w[t_r] (a thread per row) summed by
 * sumTo. */
function sumOfWeights(rt: GpuRuntime, targets: Storage, weights: Binding, rows: number, shapes: string, params: Params): GpuStorage {
  const pass = (entryPoint: string, wg: number, out: GpuStorage, workgroups: [number, number?]) =>
    rt.dispatch({
      kernel: `softmaxCrossEntropyBackward.${entryPoint}`,
      shapes,
      shader: crossEntropyBackwardShader,
      entryPoint,
      constants: { WG: wg, ITEMS: FLAT_ITEMS },
      params,
      buffers: [gpuStorage(targets).binding, weights, out.binding],
      workgroups,
    });
  if (rows <= WHOLE_MAX_ROWS) {
    const sum = allocate(rt, 1, 'crossEntropy.weightSum');
    pass('sumOfWeights', REDUCE_WG, sum, [1]);
    return sum;
  }
  const rowWeights = allocate(rt, rows, 'crossEntropy.rowWeights');
  pass('rowWeights', ROWS_WG, rowWeights, grid1d(rows, ROWS_WG));
  const sum = gpuStorage(sumToGpu(rt, rowWeights, [rows], [1]));
  rt.release(rowWeights.buffer);
  return sum;
}

// ------------------------------------------------------------------------------------------ the kernels
// Each on the GPU (above) and on the CPU (the reference).

const optional = (c: CpuBackend, s: Storage | null) => (s ? c.data(s) : null);

/** Softmax over the last dim of [rows, cols]. */
export const softmax = defineKernel(softmaxGpu, (c, x, rows, cols) => c.out(ref.softmax(c.data(x), rows, cols)));
export const softmaxBackward = defineKernel(softmaxBackwardGpu, (c, y, dy, rows, cols) => c.out(ref.softmaxBackward(c.data(y), c.data(dy), rows, cols)));
/** Mean (or class-weighted mean, as torch's `weight`) cross-entropy of logits [B,C] against integer targets:
 * the loss [1], and the softmax probabilities [B,C] for the backward pass. */
export const softmaxCrossEntropy = defineKernel(softmaxCrossEntropyGpu, (c, logits, targets, rows, cols, classWeights) => {
  const r = ref.softmaxCrossEntropy(c.data(logits), c.data(targets), rows, cols, optional(c, classWeights));
  return { loss: c.out(r.loss), probs: c.out(r.probs) };
});
/** d logits = dloss · w[t]·(probs - onehot(t)) / Σ w[t]. */
export const softmaxCrossEntropyBackward = defineKernel(softmaxCrossEntropyBackwardGpu, (c, probs, targets, dloss, rows, cols, classWeights) =>
  c.out(ref.softmaxCrossEntropyBackward(c.data(probs), c.data(targets), c.data(dloss), rows, cols, optional(c, classWeights))),
);

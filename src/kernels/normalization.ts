// Batch normalisation on the GPU (the CPU reference is ./cpu/normalization.ts, beside it at the end).
//
// Layout: x, y, dy, dx [N, C, L] dense row-major float32 ([N, C] inputs come as [N, C, 1]); mean, variance,
// gamma, beta, dgamma, dbeta [C]. Channel c owns the M = N·L values x[n, c, l]. Statistics are the batch mean
// and the biased variance (÷ M), as torch normalises with in training.
//
// Passes (shaders/normalization-*.wgsl):
//   batchNormStats     stats.partial    grid [chunks, C]: Welford over one chunk of a channel, Chan-merged per workgroup
//                      stats.finish     a thread per channel Chan-merges its partials → mean, variance
//                      (stats.direct    a thread per channel, instead of both, when M = N·L <= DIRECT_MAX_M)
//   batchNormApply     apply.rows       grid [blocks of L, N·C] (a channel per workgroup), or apply.flat for short rows
//   batchNormBackward  backward.partial grid [chunks, C]: Σ dy, Σ dy·(x − mean) per chunk
//                      backward.finish  a thread per channel → dbeta, dgamma
//                      (backward.direct a thread per channel, instead of both, when M <= DIRECT_MAX_M)
//                      apply.rows / apply.flat with BACKWARD → dx, the same cover and walk as apply
// Each channel is split into enough chunks that the reductions keep ~TARGET_GROUPS workgroups busy even for few
// channels, but no chunk is shorter than MIN_CHUNK elements (each workgroup pays log2(WG) barriers once). Short
// channels skip the workgroup reduction: on lavapipe a barrier-synchronised workgroup costs ~0.1 ms, so x [2, 65537, 1]
// took seconds that way.
// The elementwise passes cover long rows a row at a time (one channel per workgroup, so its parameters are read once
// per thread) and short rows with a flat walk that gathers them per element. Measured on lavapipe (Mesa's CPU
// Vulkan driver, 2 busy cores, so ±50%): x [16, 64, 12000] took ~180-530 ms by rows (64 threads × 16 items) against
// ~700-1000 ms flat; at L = 67-100 the flat walk was as fast or faster, since rows then means many small workgroups.

import { Params, grid1d, type GpuRuntime } from '../gpu/runtime.js';
import { allocate, gpuStorage } from '../gpu/storage.js';
import { defineKernel, type Storage } from './backend.js';
import * as ref from './cpu/normalization.js';
import applyShader from '../../shaders/normalization-apply.wgsl';
import backwardKernels from '../../shaders/normalization-backward.wgsl';
import common from '../../shaders/normalization-common.wgsl';
import statsKernels from '../../shaders/normalization-stats.wgsl';

// WGSL has no includes: the reductions' shared uniforms and chunk walk are prepended.
const statsShader = common + statsKernels;
const backwardShader = common + backwardKernels;

export interface BatchNormStats {
  /** Per-channel batch mean and biased variance, each [C]. */
  mean: Storage;
  variance: Storage;
}

const REDUCE_WG = 64;
/** Threads per workgroup of the thread-per-channel passes (finish, direct). */
const CHANNEL_WG = 64;
const DIRECT_MAX_M = 1024;
const ELEMENT_WG = 64;
const ELEMENT_ITEMS = 16;
/** Rows of at least this length are covered a row at a time (one channel per workgroup). */
const ROWS_MIN_L = 256;
const TARGET_GROUPS = 256;
const MIN_CHUNK = REDUCE_WG * 32;

interface Plan {
  N: number;
  C: number;
  L: number;
  /** Channel elements per partial workgroup, and partials per channel. */
  chunk: number;
  chunks: number;
  /** A thread per channel walks it all (no partials). */
  direct: boolean;
  /** Workgroup counts (y, z) that cover the C channels, a workgroup per channel. */
  channelGrid: [number, number];
  shapes: string;
}

function plan(shape: number[]): Plan {
  const [N, C, L] = shape;
  const M = N * L;
  const wanted = Math.ceil(TARGET_GROUPS / C);
  let chunk = Math.max(MIN_CHUNK, Math.ceil(M / wanted));
  chunk = Math.ceil(chunk / REDUCE_WG) * REDUCE_WG;
  return {
    N,
    C,
    L,
    chunk,
    chunks: Math.max(1, Math.ceil(M / chunk)),
    direct: M <= DIRECT_MAX_M,
    channelGrid: grid1d(C, 1),
    shapes: `x[${N},${C},${L}]`,
  };
}

/** How the channel walk of the partial passes advances by WG elements: n by WG / L, l by WG % L. */
function channelSteps(L: number, wg: number): [number, number] {
  return [Math.floor(wg / L), wg % L];
}

/**
 * How the elementwise passes (apply, inputGradient) cover x: `rows` for long rows, with just enough items per thread
 * for a row (a power of two up to ELEMENT_ITEMS); `flat` otherwise, with its steps: a stride of WG moves l by WG % L
 * and c by (WG / L) % C.
 */
function elementwise(N: number, C: number, L: number) {
  if (L >= ROWS_MIN_L) {
    const items = Math.min(ELEMENT_ITEMS, 2 ** Math.ceil(Math.log2(Math.ceil(L / ELEMENT_WG))));
    return {
      entryPoint: 'rows',
      constants: { WG: ELEMENT_WG, ITEMS: items },
      workgroups: [Math.ceil(L / (ELEMENT_WG * items)), ...grid1d(N * C, 1)] as [number, number, number],
      steps: [0, 0] as [number, number],
    };
  }
  return {
    entryPoint: 'flat',
    constants: { WG: ELEMENT_WG, ITEMS: ELEMENT_ITEMS },
    workgroups: grid1d(N * C * L, ELEMENT_WG * ELEMENT_ITEMS),
    steps: [ELEMENT_WG % L, Math.floor(ELEMENT_WG / L) % C] as [number, number],
  };
}

function batchNormStatsGpu(rt: GpuRuntime, x: Storage, shape: number[]): BatchNormStats {
  const pl = plan(shape);
  const { N, C, L, chunk, chunks } = pl;
  const mean = allocate(rt, C, 'batchnorm.mean');
  const variance = allocate(rt, C, 'batchnorm.variance');
  const perChannel = {
    kernel: 'batchNormStats.direct',
    shapes: pl.shapes,
    shader: statsShader,
    constants: { WG: CHANNEL_WG },
    params: new Params().u32(N, C, L, chunk, chunks, 0, 0).f32(0),
    workgroups: grid1d(C, CHANNEL_WG),
  };
  if (pl.direct) {
    rt.dispatch({ ...perChannel, entryPoint: 'direct', buffers: [gpuStorage(x).buffer, mean.buffer, variance.buffer] });
    return { mean, variance };
  }
  const partials = allocate(rt, C * chunks * 3, 'batchnorm.partials');
  rt.dispatch({
    kernel: 'batchNormStats.partial',
    shapes: pl.shapes,
    shader: statsShader,
    entryPoint: 'partial',
    constants: { WG: REDUCE_WG },
    params: new Params().u32(N, C, L, chunk, chunks, ...channelSteps(L, REDUCE_WG)).f32(0),
    buffers: [gpuStorage(x).buffer, partials.buffer],
    workgroups: [chunks, ...pl.channelGrid],
  });
  rt.dispatch({ ...perChannel, kernel: 'batchNormStats.finish', entryPoint: 'finish', buffers: [partials.buffer, mean.buffer, variance.buffer] });
  rt.release(partials.buffer);
  return { mean, variance };
}

function batchNormApplyGpu(
  rt: GpuRuntime,
  x: Storage,
  shape: number[],
  mean: Storage,
  variance: Storage,
  gamma: Storage,
  beta: Storage,
  eps: number,
  relu = false,
): Storage {
  const [N, C, L] = shape;
  const y = allocate(rt, N * C * L, 'batchnorm.y');
  const xb = gpuStorage(x).buffer;
  const perChannel = [mean, variance, gamma, beta].map((s) => gpuStorage(s).buffer);
  // The backward-only bindings (dy, dgamma, the ReLU's output) take x, never read.
  elementwisePass(rt, relu ? 'batchNormApply.relu' : 'batchNormApply', [N, C, L], eps, { RELU: relu ? 1 : 0, BACKWARD: 0 }, [xb, ...perChannel, y.buffer, xb, xb, xb]);
  return y;
}

/** A pass of shaders/normalization-apply.wgsl over x [N, C, L] (apply, or with BACKWARD the input gradient). */
function elementwisePass(rt: GpuRuntime, kernel: string, [N, C, L]: number[], eps: number, constants: Record<string, number>, buffers: GPUBuffer[]): void {
  const cover = elementwise(N, C, L);
  rt.dispatch({
    kernel,
    shapes: `x[${N},${C},${L}]`,
    shader: applyShader,
    entryPoint: cover.entryPoint,
    constants: { ...cover.constants, ...constants },
    params: new Params().u32(N, C, L, ...cover.steps).f32(eps),
    buffers,
    workgroups: cover.workgroups,
  });
}

function batchNormBackwardGpu(
  rt: GpuRuntime,
  x: Storage,
  dy: Storage,
  shape: number[],
  mean: Storage,
  variance: Storage,
  gamma: Storage,
  eps: number,
  reluOutput?: Storage,
): { dx: Storage; dgamma: Storage; dbeta: Storage } {
  const pl = plan(shape);
  const { N, C, L, chunk, chunks } = pl;
  const [xb, dyb, meanb, varb, gammab] = [x, dy, mean, variance, gamma].map((s) => gpuStorage(s).buffer);
  // The fused ReLU's output, read after each pass's other bindings; without it dy stands in (never read).
  const yb = reluOutput ? gpuStorage(reluOutput).buffer : dyb;
  const RELU = reluOutput ? 1 : 0;
  const dgamma = allocate(rt, C, 'batchnorm.dgamma');
  const dbeta = allocate(rt, C, 'batchnorm.dbeta');
  const dx = allocate(rt, N * C * L, 'batchnorm.dx');
  const params = (stepN: number, stepL: number) => new Params().u32(N, C, L, chunk, chunks, stepN, stepL).f32(eps);
  const perChannel = { shapes: pl.shapes, shader: backwardShader, constants: { WG: CHANNEL_WG }, params: params(0, 0), workgroups: grid1d(C, CHANNEL_WG) };
  if (pl.direct) {
    rt.dispatch({ ...perChannel, constants: { WG: CHANNEL_WG, RELU }, kernel: 'batchNormBackward.direct', entryPoint: 'direct', buffers: [xb, dyb, meanb, varb, dgamma.buffer, dbeta.buffer, yb] });
  } else {
    const partials = allocate(rt, C * chunks * 2, 'batchnorm.backwardPartials');
    rt.dispatch({
      kernel: 'batchNormBackward.partial',
      shapes: pl.shapes,
      shader: backwardShader,
      entryPoint: 'partial',
      constants: { WG: REDUCE_WG, RELU },
      params: params(...channelSteps(L, REDUCE_WG)),
      buffers: [xb, dyb, meanb, partials.buffer, yb],
      workgroups: [chunks, ...pl.channelGrid],
    });
    rt.dispatch({ ...perChannel, kernel: 'batchNormBackward.finish', entryPoint: 'finish', buffers: [partials.buffer, varb, dgamma.buffer, dbeta.buffer] });
    rt.release(partials.buffer);
  }
  const inputs = [xb, meanb, varb, gammab, dbeta.buffer, dx.buffer, dyb, dgamma.buffer, yb];
  elementwisePass(rt, 'batchNormBackward.inputGradient', [N, C, L], eps, { RELU, BACKWARD: 1 }, inputs);
  return { dx, dgamma, dbeta };
}

// ------------------------------------------------------------------------------------------ the kernels
// Each on the GPU (above) and on the CPU (the reference).

/** x [N,C,L] (L may be 1): per-channel batch statistics. */
export const batchNormStats = defineKernel(batchNormStatsGpu, (c, x, shape): BatchNormStats => {
  const s = ref.batchNormStats(c.data(x), shape);
  return { mean: c.out(s.mean), variance: c.out(s.variance) };
});
/** y = (x - mean)/sqrt(var + eps)·gamma + beta per channel (then relu). */
export const batchNormApply = defineKernel(batchNormApplyGpu, (c, x, shape, mean, variance, gamma, beta, eps, relu = false) =>
  c.out(ref.batchNormApply(c.data(x), shape, c.data(mean), c.data(variance), c.data(gamma), c.data(beta), eps, relu)),
);
/** Backward of batchNormApply in training mode (mean/var are the batch's own statistics of x). With
 * `reluOutput` (y of a batchNormApply with the fused relu), dy counts only where y > 0. */
export const batchNormBackward = defineKernel(batchNormBackwardGpu, (c, x, dy, shape, mean, variance, gamma, eps, reluOutput) => {
  const g = ref.batchNormBackward(c.data(x), c.data(dy), shape, c.data(mean), c.data(variance), c.data(gamma), eps, reluOutput && c.data(reluOutput));
  return { dx: c.out(g.dx), dgamma: c.out(g.dgamma), dbeta: c.out(g.dbeta) };
});

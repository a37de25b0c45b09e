// Batch normalisation on the GPU (the CPU reference is ./cpu/normalization.ts, beside it at the end).
//
// Layout: x, y, dy, dx [N, C, L] dense row-major float32 ([N, C] inputs come as [N, C, 1]); mean, variance,
// gamma, beta, dgamma, dbeta, running mean and variance [C]. Channel c owns the M = N·L values x[n, c, l].
// Statistics are the batch mean and the biased variance (÷ M), as torch normalises with in training.
//
// Passes (shaders/normalization-*.wgsl), by the channel length M (plan below):
//                       M <= DIRECT_MAX_M     M <= SINGLE_MAX_M          longer
//   batchNormStats      stats.direct          stats.single               stats.partial + stats.finish
//   batchNormApply      apply.rows (grid [blocks of L, N·C], a channel per workgroup), or apply.flat for short rows
//   batchNormForward    stats.direct+APPLY    stats.single+APPLY         batchNormStats, then batchNormApply
//   batchNormBackward   backward.direct       backward.single            backward.partial + backward.finish
//                                                                        + inputGradient (apply.* with BACKWARD)
// direct: a thread per channel; single: a workgroup per channel; partial: grid [chunks, C], workgroups over chunks
// of a channel, then a thread per channel (finish) merges them. Direct and single write dx themselves; given the
// running statistics, the stats pass that writes mean and variance also updates them; and batchNormForward (the
// training-mode forward) has direct and single write y as well once their channel's statistics are known, so a
// training step's batch norm is 1 forward + 1 backward pass unless its channels are long (chunked: the statistics
// are known only after `finish`, a pass over all channels, so y takes a pass of its own).
// Why three: on lavapipe a barrier-synchronised workgroup costs ~0.1 ms, so short channels skip the workgroup
// reduction (x [2, 65537, 1] took seconds that way). A workgroup per channel is one pass, and with C = 64 channels
// (the default model) still 64 workgroups; only channels longer than SINGLE_MAX_M, where one workgroup walking
// it (up to 256 elements per thread on a GPU) would leave a GPU idle when channels are few, are split
// into enough chunks to keep ~TARGET_GROUPS workgroups busy, none shorter than MIN_CHUNK elements (each
// workgroup pays log2(WG) barriers once).
// The elementwise passes cover long rows a row at a time (one channel per workgroup, so its parameters are read once
// per thread) and short rows with a flat walk that gathers them per element. Measured on lavapipe (Mesa's CPU
// Vulkan driver, 2 busy cores, so ±50%): x [16, 64, 12000] took ~180-530 ms by rows (64 threads × 16 items) against
// ~700-1000 ms flat; at L = 67-100 the flat walk was as fast or faster, since rows then means many small workgroups.

import { Params } from '../gpu/params.js';
import { grid1d, MAX_GRID_SIDE, type GpuRuntime } from '../gpu/runtime.js';
import { allocate, gpuStorage, type Binding, type GpuStorage } from '../gpu/storage.js';
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

/** Running averages [C] that batchNormStats updates in place, as torch in training: running = (1 − m)·running +
 * m·batch, with the unbiased variance (× M/(M − 1)). */
export interface BatchNormRunning {
  mean: Storage;
  variance: Storage;
  momentum: number;
}

const REDUCE_WG = 64;
/** Threads per workgroup of the thread-per-channel passes (finish, direct). */
const CHANNEL_WG = 64;
const DIRECT_MAX_M = 1024;
/** Longest channel reduced by one workgroup in one pass. */
const SINGLE_MAX_M = 65536;
/**
 * Threads of that workgroup. On a GPU 256 shorten each thread's serial walk (M / 256 elements). A CPU driver runs
 * a workgroup on one core as a loop over its threads, and C workgroups already fill the cores: 64 cost less there
 * (batch norm forward + backward at the default model's four shapes on lavapipe, best of 15 steps, alternating
 * runs: 17-24 ms with 64 threads, 29-44 ms with 256, 23-28 ms with the chunked passes before).
 */
function singleThreads(rt: GpuRuntime): number {
  return singleThreadsOverride ?? (rt.profile.kind === 'cpu' ? 64 : 256);
}
let singleThreadsOverride: number | null = null;
/** For the kernel suite: runs the single-workgroup passes with `threads` (a power of two; null: by the device). */
export function setBatchNormSingleThreads(threads: number | null): void {
  singleThreadsOverride = threads;
}
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
  /** Which passes reduce a channel: a thread per channel, a workgroup per channel, or chunks then a merge. */
  path: 'direct' | 'single' | 'chunked';
  /** Workgroup counts (y, z) that cover the C channels, a workgroup per channel. */
  channelGrid: [number, number];
  shapes: string;
}

/** Which passes reduce the channels of x [N, C, L] (exported for the kernel suite, which covers each). */
export function batchNormPath(shape: number[]): Plan['path'] {
  return plan(shape).path;
}

function plan(shape: number[]): Plan {
  const [N, C, L] = shape;
  const M = N * L;
  const path = M <= DIRECT_MAX_M ? 'direct' : M <= SINGLE_MAX_M ? 'single' : 'chunked';
  const wanted = Math.ceil(TARGET_GROUPS / C);
  let chunk = Math.max(MIN_CHUNK, Math.ceil(M / wanted));
  chunk = Math.ceil(chunk / REDUCE_WG) * REDUCE_WG;
  // `single` walks the whole channel as one chunk.
  if (path === 'single') chunk = M;
  return {
    N,
    C,
    L,
    chunk,
    chunks: Math.max(1, Math.ceil(M / chunk)),
    path,
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
 * and c by (WG / L) % C. Also flat for rows longer than 65535 blocks of WG·ELEMENT_ITEMS (67 M values: reached on GPUs
 * that bind 2^28 floats), which `rows` puts on the grid's x unfolded: its dispatch was refused after y was allocated.
 * (Exported for the tests.)
 */
export function batchNormCover(N: number, C: number, L: number) {
  if (L >= ROWS_MIN_L && Math.ceil(L / (ELEMENT_WG * ELEMENT_ITEMS)) <= MAX_GRID_SIDE) {
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

/** What batchNormForward's fused pass needs to write y: y = (x − mean)/sqrt(variance + eps)·gamma + beta (then ReLU). */
interface Affine {
  gamma: Storage;
  beta: Storage;
  eps: number;
  relu: boolean;
}

function batchNormStatsGpu(rt: GpuRuntime, x: Storage, shape: number[], running?: BatchNormRunning): BatchNormStats {
  const { mean, variance } = statsPasses(rt, x, shape, running);
  return { mean, variance };
}

/** The statistics passes; given `affine`, direct and single also write y (null where they did not: chunked). */
function statsPasses(rt: GpuRuntime, x: Storage, shape: number[], running?: BatchNormRunning, affine?: Affine): BatchNormStats & { y: Storage | null } {
  const pl = plan(shape);
  const { N, C, L, chunk, chunks } = pl;
  const M = N * L;
  const mean = allocate(rt, C, 'batchnorm.mean');
  const variance = allocate(rt, C, 'batchnorm.variance');
  // The pass that writes the statistics binds the running pair (scratch without, as a writable buffer cannot be
  // bound twice); the rates are computed here in float64 as elementwise.accumulate's were.
  const m = running?.momentum ?? 0;
  const scratch = running ? [] : [allocate(rt, C, 'batchnorm.scratch'), allocate(rt, C, 'batchnorm.scratch')];
  const runningBuffers = running ? [running.mean, running.variance].map((s) => gpuStorage(s).binding) : scratch.map((s) => s.binding);
  const params = (wg: number) => new Params().u32(N, C, L, chunk, chunks, ...channelSteps(L, wg)).f32(affine?.eps ?? 0, 1 - m, m, M > 1 ? (m * M) / (M - 1) : 0);
  const outputs = [mean.binding, variance.binding, ...runningBuffers];
  const RUNNING = running ? 1 : 0;
  let y: GpuStorage | null = null;
  if (pl.path === 'chunked') {
    const partials = allocate(rt, C * chunks * 3, 'batchnorm.partials');
    rt.dispatch({
      kernel: 'batchNormStats.partial',
      shapes: pl.shapes,
      shader: statsShader,
      entryPoint: 'partial',
      constants: { WG: REDUCE_WG },
      params: params(REDUCE_WG),
      buffers: [gpuStorage(x).binding, partials.binding],
      workgroups: [chunks, ...pl.channelGrid],
    });
    const finish = { entryPoint: 'finish', constants: { WG: CHANNEL_WG, RUNNING }, params: params(CHANNEL_WG), buffers: [partials.binding, ...outputs], workgroups: grid1d(C, CHANNEL_WG) };
    rt.dispatch({ kernel: 'batchNormStats.finish', shapes: pl.shapes, shader: statsShader, ...finish });
    rt.release(partials.buffer);
  } else {
    const direct = pl.path === 'direct';
    const wg = direct ? CHANNEL_WG : singleThreads(rt);
    const xb = gpuStorage(x).binding;
    y = affine ? allocate(rt, N * C * L, 'batchnorm.y') : null;
    // Without affine, gamma and beta take x and y takes scratch (bound, never touched).
    const yScratch = y ? null : allocate(rt, 1, 'batchnorm.scratch');
    const yb = (y ?? yScratch!).binding;
    const affineBuffers = affine ? [gpuStorage(affine.gamma).binding, gpuStorage(affine.beta).binding, yb] : [xb, xb, yb];
    rt.dispatch({
      kernel: affine ? `batchNormForward.${pl.path}${affine.relu ? '.relu' : ''}` : `batchNormStats.${pl.path}`,
      shapes: pl.shapes,
      shader: statsShader,
      entryPoint: pl.path,
      constants: { WG: wg, RUNNING, APPLY: affine ? 1 : 0, RELU: affine?.relu ? 1 : 0 },
      params: params(wg),
      buffers: [xb, ...outputs, ...affineBuffers],
      workgroups: direct ? grid1d(C, CHANNEL_WG) : [1, ...pl.channelGrid],
    });
    if (yScratch) rt.release(yScratch.buffer);
  }
  scratch.forEach((s) => rt.release(s.buffer));
  return { mean, variance, y };
}

/** Training-mode forward: the batch statistics (and the running update), and y normalised by them. */
function batchNormForwardGpu(
  rt: GpuRuntime,
  x: Storage,
  shape: number[],
  gamma: Storage,
  beta: Storage,
  eps: number,
  relu: boolean,
  running?: BatchNormRunning,
): BatchNormStats & { y: Storage } {
  const s = statsPasses(rt, x, shape, running, { gamma, beta, eps, relu });
  return { mean: s.mean, variance: s.variance, y: s.y ?? batchNormApplyGpu(rt, x, shape, s.mean, s.variance, gamma, beta, eps, relu) };
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
  const xb = gpuStorage(x).binding;
  const perChannel = [mean, variance, gamma, beta].map((s) => gpuStorage(s).binding);
  // The backward-only bindings (dy, dgamma, the ReLU's output) take x, never read.
  elementwisePass(rt, relu ? 'batchNormApply.relu' : 'batchNormApply', [N, C, L], eps, { RELU: relu ? 1 : 0, BACKWARD: 0 }, [xb, ...perChannel, y.binding, xb, xb, xb]);
  return y;
}

/** A pass of shaders/normalization-apply.wgsl over x [N, C, L] (apply, or with BACKWARD the input gradient). */
function elementwisePass(rt: GpuRuntime, kernel: string, [N, C, L]: number[], eps: number, constants: Record<string, number>, buffers: Binding[]): void {
  const cover = batchNormCover(N, C, L);
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
  const [xb, dyb, meanb, varb, gammab] = [x, dy, mean, variance, gamma].map((s) => gpuStorage(s).binding);
  // The fused ReLU's output, read after each pass's other bindings; without it dy stands in (never read).
  const yb = reluOutput ? gpuStorage(reluOutput).binding : dyb;
  const RELU = reluOutput ? 1 : 0;
  const dgamma = allocate(rt, C, 'batchnorm.dgamma');
  const dbeta = allocate(rt, C, 'batchnorm.dbeta');
  const dx = allocate(rt, N * C * L, 'batchnorm.dx');
  const params = (wg: number) => new Params().u32(N, C, L, chunk, chunks, ...channelSteps(L, wg)).f32(eps, 0, 0, 0);
  if (pl.path !== 'chunked') {
    const direct = pl.path === 'direct';
    const wg = direct ? CHANNEL_WG : singleThreads(rt);
    rt.dispatch({
      kernel: `batchNormBackward.${pl.path}`,
      shapes: pl.shapes,
      shader: backwardShader,
      entryPoint: pl.path,
      constants: { WG: wg, RELU },
      params: params(wg),
      buffers: [xb, dyb, meanb, varb, dgamma.binding, dbeta.binding, yb, gammab, dx.binding],
      workgroups: direct ? grid1d(C, CHANNEL_WG) : [1, ...pl.channelGrid],
    });
    return { dx, dgamma, dbeta };
  }
  const partials = allocate(rt, C * chunks * 2, 'batchnorm.backwardPartials');
  rt.dispatch({
    kernel: 'batchNormBackward.partial',
    shapes: pl.shapes,
    shader: backwardShader,
    entryPoint: 'partial',
    constants: { WG: REDUCE_WG, RELU },
    params: params(REDUCE_WG),
    buffers: [xb, dyb, meanb, partials.binding, yb],
    workgroups: [chunks, ...pl.channelGrid],
  });
  rt.dispatch({
    kernel: 'batchNormBackward.finish',
    shapes: pl.shapes,
    shader: backwardShader,
    entryPoint: 'finish',
    constants: { WG: CHANNEL_WG },
    params: params(CHANNEL_WG),
    buffers: [partials.binding, varb, dgamma.binding, dbeta.binding],
    workgroups: grid1d(C, CHANNEL_WG),
  });
  rt.release(partials.buffer);
  const inputs = [xb, meanb, varb, gammab, dbeta.binding, dx.binding, dyb, dgamma.binding, yb];
  elementwisePass(rt, 'batchNormBackward.inputGradient', [N, C, L], eps, { RELU, BACKWARD: 1 }, inputs);
  return { dx, dgamma, dbeta };
}

// ------------------------------------------------------------------------------------------ the kernels
// Each on the GPU (above) and on the CPU (the reference).

/** x [N,C,L] (L may be 1): per-channel batch statistics; given `running`, also updates those in place. */
export const batchNormStats = defineKernel(batchNormStatsGpu, (c, x, shape, running?): BatchNormStats => {
  const s = ref.batchNormStats(c.data(x), shape);
  const mean = c.out(s.mean);
  const variance = c.out(s.variance);
  if (running) {
    const M = shape[0] * shape[2];
    c.data(running.mean).set(ref.batchNormRunning(c.data(running.mean), c.data(mean), running.momentum, 1));
    c.data(running.variance).set(ref.batchNormRunning(c.data(running.variance), c.data(variance), running.momentum, M / (M - 1)));
  }
  return { mean, variance };
});
/** y = (x - mean)/sqrt(var + eps)·gamma + beta per channel (then relu). */
export const batchNormApply = defineKernel(batchNormApplyGpu, (c, x, shape, mean, variance, gamma, beta, eps, relu = false) =>
  c.out(ref.batchNormApply(c.data(x), shape, c.data(mean), c.data(variance), c.data(gamma), c.data(beta), eps, relu)),
);
/** Training-mode forward, stats then apply (with the running update where given): for direct and single channels
 * one pass; the backward below takes its mean and variance, and its y where the relu is fused. */
export const batchNormForward = defineKernel(batchNormForwardGpu, (c, x, shape, gamma, beta, eps, relu, running?) => {
  const s = batchNormStats(c, x, shape, running);
  return { ...s, y: batchNormApply(c, x, shape, s.mean, s.variance, gamma, beta, eps, relu) };
});
/** Backward of batchNormApply in training mode (mean/var are the batch's own statistics of x). With
 * `reluOutput` (y of a batchNormApply with the fused relu), dy counts only where y > 0. */
export const batchNormBackward = defineKernel(batchNormBackwardGpu, (c, x, dy, shape, mean, variance, gamma, eps, reluOutput) => {
  const g = ref.batchNormBackward(c.data(x), c.data(dy), shape, c.data(mean), c.data(variance), c.data(gamma), eps, reluOutput && c.data(reluOutput));
  return { dx: c.out(g.dx), dgamma: c.out(g.dgamma), dbeta: c.out(g.dbeta) };
});

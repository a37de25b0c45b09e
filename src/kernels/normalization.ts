// Batch normalisation on the GPU (the CPU reference is src/engine/cpu/normalization.ts).
//
// Layout: x, y, dy, dx [N, C, L] dense row-major float32 ([N, C] inputs come as [N, C, 1]); mean, variance,
// gamma, beta, dgamma, dbeta [C]. Channel c owns the M = N·L values x[n, c, l]. Statistics are the batch mean
// and the biased variance (÷ M), as torch normalises with in training.
//
// Passes (shaders/normalization-*.wgsl):
//   batchNormStats     stats.partial   grid [chunks, C]: Welford over one chunk of a channel, Chan-merged per workgroup
//                      stats.finish    grid [1, C]: Chan-merges the channel's partials → mean, variance
//   batchNormApply     apply           flat over N·C·L
//   batchNormBackward  backward.partial grid [chunks, C]: Σ dy, Σ dy·(x − mean) per chunk
//                      backward.finish  grid [1, C]: → dbeta, dgamma
//                      backward.inputGradient  flat over N·C·L → dx
// Each channel is split into enough chunks that the reductions keep ~TARGET_GROUPS workgroups busy even for few
// channels, but no chunk is shorter than MIN_CHUNK elements (each workgroup pays log2(WG) barriers once).

import type { BatchNormStats, Storage } from '../engine/backend.js';
import { Params, grid1d, type GpuRuntime } from '../engine/runtime.js';
import applyShader from '../../shaders/normalization-apply.wgsl';
import backwardShader from '../../shaders/normalization-backward.wgsl';
import statsShader from '../../shaders/normalization-stats.wgsl';
import { allocate, gpuStorage } from './storage.js';

const REDUCE_WG = 256;
const FINISH_WG = 64;
const FLAT_WG = 256;
const FLAT_ITEMS = 4;
const TARGET_GROUPS = 256;
const MIN_CHUNK = REDUCE_WG * 8;

interface Plan {
  N: number;
  C: number;
  L: number;
  /** Channel elements per partial workgroup, and partials per channel. */
  chunk: number;
  chunks: number;
  /** Workgroup counts (y, z) that cover the C channels. */
  channelGrid: [number, number];
  shapes: string;
}

function plan(shape: number[]): Plan {
  const [N, C, L] = shape;
  const M = N * L;
  const wanted = Math.ceil(TARGET_GROUPS / C);
  let chunk = Math.max(MIN_CHUNK, Math.ceil(M / wanted));
  chunk = Math.ceil(chunk / REDUCE_WG) * REDUCE_WG;
  return { N, C, L, chunk, chunks: Math.max(1, Math.ceil(M / chunk)), channelGrid: grid1d(C, 1), shapes: `x[${N},${C},${L}]` };
}

/** How the channel walk of the partial passes advances by WG elements: n by WG / L, l by WG % L. */
function channelSteps(L: number, wg: number): [number, number] {
  return [Math.floor(wg / L), wg % L];
}

/** How the flat passes advance by WG elements: l by WG % L, c by (WG / L) % C. */
function flatSteps(C: number, L: number, wg: number): [number, number] {
  return [wg % L, Math.floor(wg / L) % C];
}

export function batchNormStats(rt: GpuRuntime, x: Storage, shape: number[]): BatchNormStats {
  const pl = plan(shape);
  const { N, C, L, chunk, chunks } = pl;
  const partials = allocate(rt, C * chunks * 3, 'batchnorm.partials');
  const mean = allocate(rt, C, 'batchnorm.mean');
  const variance = allocate(rt, C, 'batchnorm.variance');
  rt.dispatch({
    kernel: 'batchNormStats.partial',
    shapes: pl.shapes,
    shader: statsShader,
    entryPoint: 'partial',
    constants: { WG: REDUCE_WG },
    params: new Params().u32(N, C, L, chunk, chunks, ...channelSteps(L, REDUCE_WG)),
    buffers: [gpuStorage(x).buffer, partials.buffer],
    workgroups: [chunks, ...pl.channelGrid],
  });
  rt.dispatch({
    kernel: 'batchNormStats.finish',
    shapes: pl.shapes,
    shader: statsShader,
    entryPoint: 'finish',
    constants: { WG: FINISH_WG },
    params: new Params().u32(N, C, L, chunk, chunks, 0, 0),
    buffers: [partials.buffer, mean.buffer, variance.buffer],
    workgroups: [1, ...pl.channelGrid],
  });
  rt.release(partials.buffer);
  return { mean, variance };
}

export function batchNormApply(
  rt: GpuRuntime,
  x: Storage,
  shape: number[],
  mean: Storage,
  variance: Storage,
  gamma: Storage,
  beta: Storage,
  eps: number,
): Storage {
  const [N, C, L] = shape;
  const total = N * C * L;
  const y = allocate(rt, total, 'batchnorm.y');
  rt.dispatch({
    kernel: 'batchNormApply',
    shapes: `x[${N},${C},${L}]`,
    shader: applyShader,
    constants: { WG: FLAT_WG, ITEMS: FLAT_ITEMS },
    params: new Params().u32(total, C, L, ...flatSteps(C, L, FLAT_WG)).f32(eps),
    buffers: [x, mean, variance, gamma, beta].map((s) => gpuStorage(s).buffer).concat(y.buffer),
    workgroups: grid1d(total, FLAT_WG * FLAT_ITEMS),
  });
  return y;
}

export function batchNormBackward(
  rt: GpuRuntime,
  x: Storage,
  dy: Storage,
  shape: number[],
  mean: Storage,
  variance: Storage,
  gamma: Storage,
  eps: number,
): { dx: Storage; dgamma: Storage; dbeta: Storage } {
  const pl = plan(shape);
  const { N, C, L, chunk, chunks } = pl;
  const [xb, dyb, meanb, varb, gammab] = [x, dy, mean, variance, gamma].map((s) => gpuStorage(s).buffer);
  const partials = allocate(rt, C * chunks * 2, 'batchnorm.backwardPartials');
  const dgamma = allocate(rt, C, 'batchnorm.dgamma');
  const dbeta = allocate(rt, C, 'batchnorm.dbeta');
  const dx = allocate(rt, N * C * L, 'batchnorm.dx');
  const params = (stepN: number, stepL: number, stepC: number) => new Params().u32(N, C, L, chunk, chunks, stepN, stepL, stepC).f32(eps);
  rt.dispatch({
    kernel: 'batchNormBackward.partial',
    shapes: pl.shapes,
    shader: backwardShader,
    entryPoint: 'partial',
    constants: { WG: REDUCE_WG },
    params: params(...channelSteps(L, REDUCE_WG), 0),
    buffers: [xb, dyb, meanb, partials.buffer],
    workgroups: [chunks, ...pl.channelGrid],
  });
  rt.dispatch({
    kernel: 'batchNormBackward.finish',
    shapes: pl.shapes,
    shader: backwardShader,
    entryPoint: 'finish',
    constants: { WG: FINISH_WG },
    params: params(0, 0, 0),
    buffers: [partials.buffer, varb, dgamma.buffer, dbeta.buffer],
    workgroups: [1, ...pl.channelGrid],
  });
  rt.release(partials.buffer);
  const [stepL, stepC] = flatSteps(C, L, FLAT_WG);
  rt.dispatch({
    kernel: 'batchNormBackward.inputGradient',
    shapes: pl.shapes,
    shader: backwardShader,
    entryPoint: 'inputGradient',
    constants: { WG: FLAT_WG, ITEMS: FLAT_ITEMS },
    params: params(0, stepL, stepC),
    buffers: [xb, dyb, meanb, varb, gammab, dgamma.buffer, dbeta.buffer, dx.buffer],
    workgroups: grid1d(N * C * L, FLAT_WG * FLAT_ITEMS),
  });
  return { dx, dgamma, dbeta };
}

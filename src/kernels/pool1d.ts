// 1-D max and average pooling on the WebGPU backend (torch.nn.functional.max_pool1d / avg_pool1d, floor
// mode). Layout: x [N,C,L] row-major, seen as rows = N·C independent rows of length L; y [N,C,Lout] with
// Lout = floor((L + 2·padding − kernelSize)/stride) + 1 (geometry.ts). Window j of a row covers positions
// j·stride − padding + [0, kernelSize): max pads with −inf, average with zeros and always divides by
// kernelSize (count_include_pad). ops.ts validates the parameters (padding ≤ kernelSize/2, so every window
// holds at least one input).
//
// Forward: a thread computes a few consecutive outputs. Backward: a thread owns a few consecutive "segments"
// of dx (a segment is the `stride` positions between two window starts), gathers the gradient of the windows
// that reach it and writes each of its positions once — no atomics, deterministic. Max pooling recomputes
// each window's first maximum from x (torch's CPU tie rule) instead of keeping an index buffer.
// The pooling parameters travel in the uniform, so one pipeline per entry point serves every configuration;
// "pooling by n" (kernelSize = stride, no padding: the model's pooling) gets pipelines specialised with the
// parameters as override constants, whose unrolled window loops run ~1.3× faster on lavapipe. Specialising
// every configuration would cost a pipeline compilation (seconds on lavapipe) for each. Max pooling by 4 of
// whole vec4s (the m5 model's pooling at batch 16) has kernels of its own, forward and backward, with 16-byte
// accesses (shaders/pool1d-max-by4.wgsl): the forward measured 1.6-1.8× the general kernel on lavapipe.
//
// Statistics pooling (x-vector) pools each row over all of L into its mean and standard deviation: x [N,C,L] →
// y [N,2C] = [means | sds], sd = sqrt(mean((x − mean)²) + eps). One dispatch each way
// (shaders/pool1d-stats.wgsl): forward a thread per row, or a workgroup per row for a few long rows; backward a
// thread per element of dx from the forward's y. Composed of elementwise ops it took 10 dispatches forward and
// 12 backward.

import { Params } from '../gpu/params.js';
import { grid1d, type GpuRuntime } from '../gpu/runtime.js';
import { allocate, gpuStorage } from '../gpu/storage.js';
import { defineKernel, type Storage } from './backend.js';
import * as ref from './cpu/pool1d.js';
import type { Pool1dGeometry as Geometry } from './geometry.js';
import poolShader from '../../shaders/pool1d.wgsl';
import maxBy4Shader from '../../shaders/pool1d-max-by4.wgsl';
import statsKernels from '../../shaders/pool1d-stats.wgsl';
import pairwiseSum from '../../shaders/pairwise-sum.wgsl';

// WGSL has no includes: the pairwise sum is prepended to the statistics, whose threads sum along a row.
const statsShader = pairwiseSum + statsKernels;

const WORKGROUP_SIZE = 64;
const OUTPUTS_PER_THREAD = 2;
const SEGMENTS_PER_THREAD = 2;

/** Pooling by n, the model's configuration: worth pipelines of its own. */
function specialised(p: Geometry): boolean {
  return p.kernelSize === p.stride && p.padding === 0;
}

interface PoolCall {
  kind: 'maxPool1d' | 'maxPool1dBackward' | 'avgPool1d' | 'avgPool1dBackward';
  p: Geometry;
  /** shaders/pool1d.wgsl's bindings 1 and 3 (x, dy): forward x; max backward x, dy; average backward dy, dy. */
  inputs: Storage[];
}

/** Allocates the output (y, or dx for the backward passes) and records the dispatch. */
function pool(rt: GpuRuntime, c: PoolCall): Storage {
  const { N, C, L, Lout } = c.p;
  const rows = N * C;
  const backward = c.kind.endsWith('Backward');
  const segments = Math.ceil((L + c.p.padding) / c.p.stride);
  const items = backward ? rows * segments : rows * Lout;
  const perThread = backward ? SEGMENTS_PER_THREAD : OUTPUTS_PER_THREAD;
  const out = allocate(rt, backward ? rows * L : rows * Lout, c.kind);
  const [first, ...rest] = c.inputs.map((s) => gpuStorage(s).binding);
  rt.dispatch({
    kernel: `pool1d.${c.kind}`,
    shapes: `x[${N},${C},${L}] k${c.p.kernelSize} s${c.p.stride} p${c.p.padding}`,
    shader: poolShader,
    entryPoint: backward ? 'backward' : 'forward',
    constants: {
      MAX: c.kind.startsWith('max') ? 1 : 0,
      WORKGROUP_SIZE,
      ITEMS_PER_THREAD: perThread,
      ...(specialised(c.p) ? { SPECIALIZED: 1, KERNEL_SIZE: c.p.kernelSize, STRIDE: c.p.stride, PADDING: c.p.padding } : {}),
    },
    params: new Params()
      .u32(L, Lout, segments, items)
      .i32(c.p.kernelSize, c.p.stride, c.p.padding, Math.ceil(c.p.kernelSize / c.p.stride)),
    buffers: [first, out.binding, ...rest],
    workgroups: grid1d(Math.ceil(items / perThread), WORKGROUP_SIZE),
  });
  return out;
}

/** Pooling by 4 of whole vec4s (kernel = stride = 4, no padding, rows a multiple of 4 long, outputs whole
 * vec4s): output o is the maximum of x's o-th vec4 whatever the row (shaders/pool1d-max-by4.wgsl). */
const byFour = (p: Geometry) => p.kernelSize === 4 && p.stride === 4 && p.padding === 0 && p.L % 4 === 0 && (p.N * p.C * p.L) % 16 === 0;

function maxPool1dBy4(rt: GpuRuntime, x: Storage, dy: Storage | null, p: Geometry): Storage {
  const { N, C, L } = p;
  const outputVecs = (N * C * L) / 16;
  const out = allocate(rt, dy ? N * C * L : 4 * outputVecs, dy ? 'maxPool1dBackward' : 'maxPool1d');
  const xBuffer = gpuStorage(x).binding;
  rt.dispatch({
    kernel: dy ? 'pool1d.maxPool1dBackwardBy4' : 'pool1d.maxPool1dBy4',
    shapes: `x[${N},${C},${L}] k4 s4 p0`,
    shader: maxBy4Shader,
    entryPoint: dy ? 'maxPool1dBackwardBy4' : 'maxPool1dBy4',
    constants: { WORKGROUP_SIZE },
    params: new Params().u32(outputVecs),
    buffers: dy ? [xBuffer, out.binding, gpuStorage(dy).binding] : [xBuffer, out.binding],
    workgroups: grid1d(outputVecs, WORKGROUP_SIZE),
  });
  return out;
}

function maxPool1dGpu(rt: GpuRuntime, x: Storage, p: Geometry): Storage {
  return byFour(p) ? maxPool1dBy4(rt, x, null, p) : pool(rt, { kind: 'maxPool1d', p, inputs: [x] });
}

/** dx: each window's dy goes to its first maximum, recomputed from x. */
function maxPool1dBackwardGpu(rt: GpuRuntime, x: Storage, dy: Storage, p: Geometry): Storage {
  return byFour(p) ? maxPool1dBy4(rt, x, dy, p) : pool(rt, { kind: 'maxPool1dBackward', p, inputs: [x, dy] });
}

function avgPool1dGpu(rt: GpuRuntime, x: Storage, p: Geometry): Storage {
  return pool(rt, { kind: 'avgPool1d', p, inputs: [x] });
}

/** dx: every position of a window receives dy/kernelSize. */
function avgPool1dBackwardGpu(rt: GpuRuntime, dy: Storage, p: Geometry): Storage {
  return pool(rt, { kind: 'avgPool1dBackward', p, inputs: [dy, dy] });
}

/** Threads per workgroup: rows (a thread each), one row's strided walk (`wide`: a power of two, for its tree) or
 * elements of dx (backward). */
const STATS_WG = 64;

/**
 * A workgroup per row (`wide`) only for a few long rows, where a thread per row would leave a GPU idle. On
 * lavapipe its barriers cost more than its parallelism buys, as softmax found (kernels/softmax.ts): at the
 * default model's x [16,64,75] a thread per row took 0.33 ms and a workgroup per row 10.9 ms, and the thread per
 * row was as fast or faster at every size tried up to [1,8,16384] and [16,64,1024] (a loop of 20 forwards each,
 * on a loaded 2-core machine, 2026-11-26).
 */
const WIDE_MIN_LENGTH = 1024;
const WIDE_MAX_ROWS = 64;

/** x [N,C,L] → y [N,2C]: each row's mean, then its sd = sqrt(population variance + eps), in one dispatch. */
function statsPoolGpu(rt: GpuRuntime, x: Storage, xShape: readonly number[], eps: number): Storage {
  const [N, C, L] = xShape;
  const rows = N * C;
  const wide = L >= WIDE_MIN_LENGTH && rows <= WIDE_MAX_ROWS;
  const y = allocate(rt, 2 * rows, 'statsPool');
  rt.dispatch({
    kernel: 'pool1d.statsPool',
    shapes: `x[${N},${C},${L}]`,
    shader: statsShader,
    entryPoint: wide ? 'wide' : 'rows',
    constants: { WG: STATS_WG },
    params: new Params().u32(rows, C, L).f32(eps),
    buffers: [gpuStorage(x).binding, y.binding],
    workgroups: wide ? grid1d(rows, 1) : grid1d(rows, STATS_WG),
  });
  return y;
}

/** dx = dmean/L + dsd·(x − mean)/(L·sd), from the forward's y [N,2C] and dy [N,2C]. */
function statsPoolBackwardGpu(rt: GpuRuntime, x: Storage, y: Storage, dy: Storage, xShape: readonly number[]): Storage {
  const [N, C, L] = xShape;
  const dx = allocate(rt, N * C * L, 'statsPool.backward');
  rt.dispatch({
    kernel: 'pool1d.statsPoolBackward',
    shapes: `x[${N},${C},${L}]`,
    shader: statsShader,
    entryPoint: 'backward',
    constants: { WG: STATS_WG },
    params: new Params().u32(N * C, C, L).f32(0),
    buffers: [gpuStorage(x).binding, dx.binding, gpuStorage(y).binding, gpuStorage(dy).binding],
    workgroups: grid1d(N * C * L, STATS_WG),
  });
  return dx;
}

// ------------------------------------------------------------------------------------------ the kernels
// Each on the GPU (above) and on the CPU (the reference), with the geometry ops.ts computed.

const xShape = (g: Geometry) => [g.N, g.C, g.L];

export const maxPool1d = defineKernel(maxPool1dGpu, (c, x, g) => c.out(ref.maxPool1d(c.data(x), xShape(g), g)));
/** dx: each window's dy goes to its first maximum, recomputed from x (no index buffer). */
export const maxPool1dBackward = defineKernel(maxPool1dBackwardGpu, (c, x, dy, g) => c.out(ref.maxPool1dBackward(c.data(x), c.data(dy), xShape(g), g)));
export const avgPool1d = defineKernel(avgPool1dGpu, (c, x, g) => c.out(ref.avgPool1d(c.data(x), xShape(g), g)));
/** dx: every position of a window receives dy/kernelSize. */
export const avgPool1dBackward = defineKernel(avgPool1dBackwardGpu, (c, dy, g) => c.out(ref.avgPool1dBackward(c.data(dy), xShape(g), g)));
/** x [N,C,L] → [N,2C]: each row's mean over L, then its standard deviation sqrt(mean((x − mean)²) + eps). */
export const statsPool = defineKernel(statsPoolGpu, (c, x, xShape, eps) => c.out(ref.statsPool(c.data(x), xShape, eps)));
/** dx from x, the forward's y (the statistics) and dy [N,2C]. */
export const statsPoolBackward = defineKernel(statsPoolBackwardGpu, (c, x, y, dy, xShape) => c.out(ref.statsPoolBackward(c.data(x), c.data(y), c.data(dy), xShape)));

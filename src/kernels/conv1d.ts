// The conv1d family on WebGPU: forward (with optional bias), and the gradients with respect to the input and the
// weight (the bias gradient is the elementwise family's sumTo of dy over N and L, done by autograd).
//
// Layout (row-major float32, torch.nn.functional.conv1d semantics, zero padding, groups = 1):
//   x  [N, Cin, L]      w [Cout, Cin, K]      y, dy [N, Cout, Lout]
//   Lout = floor((L + 2·padding − dilation·(K − 1) − 1) / stride) + 1   (ops.ts has checked Lout ≥ 1)
//   y[n, co, lo] = bias[co] + Σ_ci Σ_k w[co, ci, k] · x[n, ci, lo·stride − padding + k·dilation]
//
// All three are implicit GEMMs without workgroup memory, each invocation holding a register tile:
//   forward         Cout × (N·Lout), reduced over Cin·K      (shaders/conv1d-forward.wgsl)
//   backward input  Cin × (N·L), reduced over Cout·K          (shaders/conv1d-backward-input.wgsl, per stride phase)
//   backward weight Cout × (Cin·K), reduced over N·Lout       (shaders/conv1d-backward-weight.wgsl, in chunks whose
//                   partial sums a second pass adds up in a fixed order: deterministic, no float atomics)
// On CPU drivers with subgroups (lavapipe), the forward pass and the stride-1 input gradient run instead as one
// subgroup correlation kernel (shaders/conv1d-subgroup.wgsl) that shares loads between SIMD lanes, as the
// subgroup GEMM does: measured 2-3× the per-invocation kernels on the model's middle layers, and another
// 1.1-1.4× where stride 1 lets each lane keep its inputs across the taps in registers (the `window` entry).
// The weight gradient has a subgroup kernel of its own (shaders/conv1d-subgroup-weight.wgsl): measured 1.5×
// the per-invocation kernel on the first layer and 2-3× on the others.
// On GPUs all three passes run on the GEMM's workgroup-tiled core, as implicit GEMMs whose im2col operand is
// gathered while the slabs are staged (shaders/conv1d-tiled.wgsl), except where the GEMM is too thin for tiles
// (a single input channel, as the first layer's input gradient has).

import type { Conv1dParams, Storage } from '../engine/backend.js';
import { grid1d, Params, type GpuRuntime } from '../engine/runtime.js';
import forwardShader from '../../shaders/conv1d-forward.wgsl';
import backwardInputShader from '../../shaders/conv1d-backward-input.wgsl';
import backwardWeightShader from '../../shaders/conv1d-backward-weight.wgsl';
import subgroupShader from '../../shaders/conv1d-subgroup.wgsl';
import subgroupWeightShader from '../../shaders/conv1d-subgroup-weight.wgsl';
import tiledOperands from '../../shaders/conv1d-tiled.wgsl';
import tiledCore from '../../shaders/tiled-gemm-core.wgsl';
import type { Candidate } from '../engine/tuner.js';
import { configName, cpuSubgroupLanes, gemmKernel, tiledConfigsFor, tiledGemmConfig, tileLaunch, type GemmTileConfig } from './gemm.js';
import { allocate, gpuStorage, zeros, type GpuStorage } from './storage.js';

/** Longest kernel the subgroup kernel's `window` entry point holds in registers (its window array). */
const MAX_WINDOW_TAPS = 9;
/** Register tile of every shader (their TILE_* constants) and lanes per workgroup. */
const TILE = 4;
const WG = 64;
/** backwardWeight cuts N·Lout into chunks until about this many workgroups run (and no chunk is shorter). */
const TARGET_WORKGROUPS = 256;
const MIN_CHUNK = 256;
/** The tiled backward weight splits its reduction until about this many workgroups run (a GPU's few hundred). */
const TILED_TARGET_WORKGROUPS = 512;
/** Smallest GEMM side (rows, or reduction) worth a workgroup tile. */
const MIN_TILED_SIDE = 16;

const tiledShader = tiledOperands + tiledCore;

interface Geometry {
  N: number;
  Cin: number;
  L: number;
  Cout: number;
  K: number;
  Lout: number;
}

function geometry(xShape: number[], wShape: number[], p: Conv1dParams): Geometry {
  const [N, Cin, L] = xShape;
  const [Cout, , K] = wShape;
  const Lout = Math.floor((L + 2 * p.padding - p.dilation * (K - 1) - 1) / p.stride) + 1;
  return { N, Cin, L, Cout, K, Lout };
}

function describe(g: Geometry, p: Conv1dParams): string {
  return `x[${g.N},${g.Cin},${g.L}] w[${g.Cout},${g.Cin},${g.K}] y[${g.N},${g.Cout},${g.Lout}] stride ${p.stride} padding ${p.padding} dilation ${p.dilation}`;
}

/** The shape uniforms every conv1d shader starts with. */
function shapeParams(g: Geometry, p: Conv1dParams): Params {
  return new Params().u32(g.Cin, g.L, g.Cout, g.K, g.Lout, p.stride, p.padding, p.dilation);
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Output tile of the forward kernel (its TILE_CO × TILE_L override constants). */
export interface ForwardTile {
  co: number;
  /** Outputs per invocation / 4. */
  l4: number;
}

/** Block of the subgroup kernel: ROW_GROUPS·lanes channels × COLS·lanes positions. */
export interface SubgroupTile {
  lanes: number;
  rowGroups: number;
  cols: number;
}

/** The subgroup block for `rows` output channels, or null where the device should not use that kernel. */
export function subgroupTile(rt: GpuRuntime, rows: number): SubgroupTile | null {
  if (gemmKernel(rt.gpu) !== 'subgroup') return null;
  const lanes = cpuSubgroupLanes(rt.gpu.adapter)!;
  return { lanes, rowGroups: Math.max(1, Math.min(Math.ceil(rows / lanes), Math.floor(32 / lanes), 4)), cols: 4 };
}

/** The correlation of shaders/conv1d-subgroup.wgsl (see there for what each argument means). */
interface Correlation {
  kernel: string;
  N: number;
  rows: number;
  channels: number;
  lengthIn: number;
  lengthOut: number;
  taps: number;
  stride: number;
  offset: number;
  tapStep: number;
  aStepM: number;
  aStepC: number;
}

function correlate(rt: GpuRuntime, src: Storage, a: Storage, bias: Storage | null, c: Correlation, t: SubgroupTile, shapes: string): GpuStorage {
  if (!(t.rowGroups >= 1 && t.rowGroups <= 4 && t.rowGroups * t.lanes <= 32 && t.cols >= 1 && t.cols <= 4)) {
    throw new Error(`${c.kernel}: subgroup blocks of ${t.rowGroups} row groups of ${t.lanes} and ${t.cols} columns are too big`);
  }
  const out = allocate(rt, c.N * c.rows * c.lengthOut, `${c.kernel}.out`);
  const aBuffer = gpuStorage(a).buffer;
  // Stride 1 and a tap step of ±1 share each input across taps from registers (the `window` entry point).
  const window = c.stride === 1 && Math.abs(c.tapStep) === 1 && c.taps <= MAX_WINDOW_TAPS;
  rt.dispatch({
    kernel: `${c.kernel}.subgroup`,
    shapes,
    shader: subgroupShader,
    entryPoint: window ? 'window' : 'main',
    constants: { LANES: t.lanes, ROW_GROUPS: t.rowGroups, COLS: t.cols, ...(window ? { TAPS: c.taps } : {}) },
    params: new Params().u32(c.rows, c.channels, c.lengthIn, c.lengthOut, c.taps, c.stride).i32(c.offset, c.tapStep).u32(c.aStepM, c.aStepC, bias ? 1 : 0),
    buffers: [gpuStorage(src).buffer, aBuffer, bias ? gpuStorage(bias).buffer : aBuffer, out.buffer],
    workgroups: [Math.ceil(c.lengthOut / (t.cols * t.lanes)), Math.ceil(c.rows / (t.rowGroups * t.lanes)), c.N],
  });
  return out;
}

export function conv1d(rt: GpuRuntime, x: Storage, xShape: number[], w: Storage, wShape: number[], bias: Storage | null, p: Conv1dParams, tile?: ConvTile<ForwardTile>): Storage {
  const g = geometry(xShape, wShape, p);
  const shapes = describe(g, p);
  const direct: ForwardTile = { co: g.Cout <= 4 ? 4 : 8, l4: 4 };
  const run = (t: ConvTile<ForwardTile>, [tx, tw, tb]: GpuStorage[]) => conv1d(rt, tx, xShape, tw, wShape, bias ? tb : null, p, t);
  const t = tile ?? chooseTile(rt, 'forward', g, p, direct, run, [g.N * g.Cin * g.L, g.Cout * g.Cin * g.K, g.Cout]);
  if ('kernel' in t) return tiledPass(rt, 'forward', w, x, bias, g, p, t, shapes);
  if ('lanes' in t) {
    const c = { kernel: 'conv1d.forward', N: g.N, rows: g.Cout, channels: g.Cin, lengthIn: g.L, lengthOut: g.Lout, taps: g.K };
    return correlate(rt, x, w, bias, { ...c, stride: p.stride, offset: -p.padding, tapStep: p.dilation, aStepM: g.Cin * g.K, aStepC: g.K }, t, shapes);
  }
  const y = allocate(rt, g.N * g.Cout * g.Lout, 'conv1d.y');
  const wBuffer = gpuStorage(w).buffer;
  const common = gcd(p.stride, p.dilation);
  const spacing = p.dilation / common;
  const groups = Math.ceil(Math.ceil(g.Lout / spacing) / (4 * t.l4));
  rt.dispatch({
    kernel: 'conv1d.forward',
    shapes,
    shader: forwardShader,
    constants: { WG, TILE_CO: t.co, TILE_L4: t.l4 },
    params: shapeParams(g, p).u32(p.stride / common, spacing, (p.stride * p.dilation) / common, groups, bias ? 1 : 0),
    // Without a bias, w is bound a second time in its place (read-only aliasing is allowed); the shader ignores it.
    buffers: [gpuStorage(x).buffer, wBuffer, bias ? gpuStorage(bias).buffer : wBuffer, y.buffer],
    workgroups: [Math.ceil((spacing * groups) / WG), Math.ceil(g.Cout / t.co), g.N],
  });
  return y;
}

/** Input tile of the backward-input kernel (TILE_CI × 4·TILE_L4). */
export interface BackwardInputTile {
  ci: number;
  l4: number;
}

export function conv1dBackwardInput(rt: GpuRuntime, dy: Storage, w: Storage, xShape: number[], wShape: number[], p: Conv1dParams, tile?: ConvTile<BackwardInputTile>): Storage {
  const g = geometry(xShape, wShape, p);
  const shapes = describe(g, p);
  const direct: BackwardInputTile = g.Cin <= 2 ? { ci: 1, l4: 8 } : { ci: 4, l4: 4 };
  const run = (t: ConvTile<BackwardInputTile>, [tdy, tw]: GpuStorage[]) => conv1dBackwardInput(rt, tdy, tw, xShape, wShape, p, t);
  const t = tile ?? chooseTile(rt, 'backwardInput', g, p, direct, run, [g.N * g.Cout * g.Lout, g.Cout * g.Cin * g.K]);
  if ('kernel' in t) return tiledPass(rt, 'backwardInput', w, dy, null, g, p, t, shapes);
  if ('lanes' in t) {
    // dx[n, ci, l] = Σ_co Σ_k w[co, ci, k] · dy[n, co, l + padding − k·dilation]: a correlation only when stride = 1.
    if (p.stride !== 1) throw new Error(`conv1dBackwardInput: the subgroup kernel needs stride 1 (${shapes})`);
    const c = { kernel: 'conv1d.backwardInput', N: g.N, rows: g.Cin, channels: g.Cout, lengthIn: g.Lout, lengthOut: g.L, taps: g.K };
    return correlate(rt, dy, w, null, { ...c, stride: 1, offset: p.padding, tapStep: -p.dilation, aStepM: g.K, aStepC: g.Cin * g.K }, t, shapes);
  }
  const dx = allocate(rt, g.N * g.Cin * g.L, 'conv1d.dx');
  const common = gcd(p.stride, p.dilation);
  const step = (p.stride * p.dilation) / common;
  const groups = Math.ceil(Math.ceil(g.L / step) / (4 * t.l4));
  rt.dispatch({
    kernel: 'conv1d.backwardInput',
    shapes,
    shader: backwardInputShader,
    constants: { WG, TILE_CI: t.ci, TILE_L4: t.l4 },
    params: shapeParams(g, p).u32(p.stride / common, p.dilation / common, step, groups),
    buffers: [gpuStorage(dy).buffer, gpuStorage(w).buffer, dx.buffer],
    workgroups: [Math.ceil((step * groups) / WG), Math.ceil(g.Cin / t.ci), g.N],
  });
  return dx;
}

/** Weight tile of the backward-weight kernel (4·TILE_CO4 output channels × TILE_CI input channels × TILE_K taps). */
export interface BackwardWeightTile {
  co4: number;
  ci: number;
  k: number;
}

export function conv1dBackwardWeight(rt: GpuRuntime, dy: Storage, x: Storage, xShape: number[], wShape: number[], p: Conv1dParams, tile?: ConvTile<BackwardWeightTile>): Storage {
  const g = geometry(xShape, wShape, p);
  const shapes = describe(g, p);
  const count = g.Cout * g.Cin * g.K;
  const common = gcd(p.stride, p.dilation);
  const tapPhases = p.stride / common;
  const phaseTaps = Math.ceil(g.K / tapPhases);
  const k = Math.min(phaseTaps, 24);
  const direct: BackwardWeightTile = { co4: 2, ci: Math.min(g.Cin, Math.max(1, Math.floor(12 / k))), k };
  const run = (t: ConvTile<BackwardWeightTile>, [tdy, tx]: GpuStorage[]) => conv1dBackwardWeight(rt, tdy, tx, xShape, wShape, p, t);
  const t = tile ?? chooseTile(rt, 'backwardWeight', g, p, direct, run, [g.N * g.Cout * g.Lout, g.N * g.Cin * g.L]);
  if ('kernel' in t) return tiledPass(rt, 'backwardWeight', dy, x, null, g, p, t, shapes);
  if ('lanes' in t) return subgroupWeightGradient(rt, dy, x, g, p, t, shapes);
  const tapBlocks = Math.ceil(phaseTaps / t.k);
  const colTiles = Math.ceil(g.Cin / t.ci) * tapPhases * tapBlocks;
  const coTiles = Math.ceil(g.Cout / (4 * t.co4));
  const tileGroups = Math.ceil((colTiles * coTiles) / WG);

  const { chunkLength, chunksPerSample, chunks } = positionChunks(g, tileGroups);
  return summedOverChunks(rt, count, chunks, shapes, (partials) =>
    rt.dispatch({
      kernel: 'conv1d.backwardWeight',
      shapes,
      shader: backwardWeightShader,
      entryPoint: 'partial',
      constants: { WG, TILE_CO4: t.co4, TILE_CI: t.ci, TILE_K: t.k },
      params: shapeParams(g, p).u32(tapPhases, p.dilation / common, (p.stride * p.dilation) / common, chunkLength, chunksPerSample, tapBlocks, colTiles, coTiles),
      buffers: [gpuStorage(dy).buffer, gpuStorage(x).buffer, partials.buffer],
      workgroups: [tileGroups, chunks, 1],
    }),
  );
}

/** The weight gradient's reduction over (n, lo) cut into chunks of lo inside one sample: enough chunks that
 * about TARGET_WORKGROUPS workgroups run, none shorter than MIN_CHUNK positions (so that the reduce pass stays
 * negligible). */
function positionChunks(g: Geometry, workgroupsPerChunk: number): { chunkLength: number; chunksPerSample: number; chunks: number } {
  const wantedChunks = Math.ceil(TARGET_WORKGROUPS / workgroupsPerChunk);
  const perSample = Math.max(1, Math.min(Math.ceil(wantedChunks / g.N), Math.floor(g.Lout / MIN_CHUNK)));
  const chunkLength = Math.ceil(g.Lout / perSample);
  const chunksPerSample = Math.ceil(g.Lout / chunkLength);
  return { chunkLength, chunksPerSample, chunks: g.N * chunksPerSample };
}

/** The weight gradient on shaders/conv1d-subgroup-weight.wgsl (CPU drivers with subgroups). */
function subgroupWeightGradient(rt: GpuRuntime, dy: Storage, x: Storage, g: Geometry, p: Conv1dParams, t: SubgroupTile, shapes: string): GpuStorage {
  if (!(t.rowGroups >= 1 && t.rowGroups <= 4 && t.rowGroups * t.lanes <= 32 && t.cols >= 1 && t.cols <= 4)) {
    throw new Error(`conv1d.backwardWeight: subgroup blocks of ${t.rowGroups} row groups of ${t.lanes} and ${t.cols} columns are too big`);
  }
  const count = g.Cout * g.Cin * g.K;
  const colBlocks = Math.ceil((g.Cin * g.K) / (t.cols * t.lanes));
  const rowBlocks = Math.ceil(g.Cout / (t.rowGroups * t.lanes));
  const { chunkLength, chunksPerSample, chunks } = positionChunks(g, colBlocks * rowBlocks);
  return summedOverChunks(rt, count, chunks, shapes, (partials) =>
    rt.dispatch({
      kernel: 'conv1d.backwardWeight.subgroup',
      shapes,
      shader: subgroupWeightShader,
      constants: { LANES: t.lanes, ROW_GROUPS: t.rowGroups, COLS: t.cols },
      params: new Params().u32(g.Cin, g.L, g.Cout, g.K, g.Lout, p.stride, p.padding, p.dilation, chunkLength, chunksPerSample),
      buffers: [gpuStorage(dy).buffer, gpuStorage(x).buffer, partials.buffer],
      workgroups: [colBlocks, rowBlocks, chunks],
    }),
  );
}

/** A result of `count` values that `dispatch` computes as `chunks` partial sums ([chunks, count]; straight into
 * the result when there is one chunk), then added up in a fixed order: deterministic, no float atomics. */
function summedOverChunks(rt: GpuRuntime, count: number, chunks: number, shapes: string, dispatch: (partials: GpuStorage) => void): GpuStorage {
  const result = allocate(rt, count, 'conv1d.out');
  if (chunks === 1) {
    dispatch(result);
    return result;
  }
  const partials = allocate(rt, chunks * count, 'conv1d.partials');
  dispatch(partials);
  const [gx, gy] = grid1d(count, WG);
  rt.dispatch({
    kernel: 'conv1d.backwardWeight.reduce',
    shapes,
    shader: backwardWeightShader,
    entryPoint: 'reduce',
    constants: { WG },
    params: new Params().u32(count, chunks, gx * WG),
    buffers: [partials.buffer, result.buffer],
    workgroups: [gx, gy],
  });
  rt.release(partials.buffer);
  return result;
}

type Pass = 'forward' | 'backwardInput' | 'backwardWeight';

/** The pass as a GEMM: C[M,N] reduced over K (see shaders/conv1d-tiled.wgsl). */
function gemmView(pass: Pass, g: Geometry): { M: number; N: number; K: number } {
  if (pass === 'forward') return { M: g.Cout, N: g.N * g.Lout, K: g.Cin * g.K };
  if (pass === 'backwardInput') return { M: g.Cin, N: g.N * g.L, K: g.Cout * g.K };
  return { M: g.Cout, N: g.Cin * g.K, K: g.N * g.Lout };
}

/** A pass's kernel: its per-invocation kernel's tile, the subgroup kernel's block, or the tiled core's tile. */
export type ConvTile<Direct> = Direct | SubgroupTile | GemmTileConfig;

/** The kernel for a pass: the tuner's measured winner where it has one, else the rule: the tiled core on GPUs
 * (unless the GEMM is too thin for tiles), the subgroup kernel where the device has one, else `direct`.
 * `run` runs the pass with a given kernel on zeroed inputs of `inputs` lengths (the tuner's trial). */
function chooseTile<D>(rt: GpuRuntime, pass: Pass, g: Geometry, p: Conv1dParams, direct: D, run: (t: ConvTile<D>, inputs: GpuStorage[]) => Storage, inputs: number[]): ConvTile<D> {
  const { M, N, K } = gemmView(pass, g);
  const tiled = gemmKernel(rt.gpu) === 'tiled' ? tiledConfigsFor(rt.device.limits, N) : [];
  const subgroup = pass === 'backwardInput' && p.stride !== 1 ? null : subgroupTile(rt, M);
  const ruleTiled = tiledGemmConfig(rt.device.limits, M, N);
  const rule = M >= MIN_TILED_SIDE && K >= MIN_TILED_SIDE && tiled.includes(ruleTiled) ? ruleTiled : (subgroup ?? direct);
  const candidates = (): Candidate<ConvTile<D>>[] => [
    { name: 'direct', value: direct },
    ...(subgroup ? [{ name: 'subgroup', value: subgroup }] : []),
    ...tiled.map((cfg) => ({ name: configName(cfg), value: cfg })),
  ];
  const trial = (list: Candidate<ConvTile<D>>[]) => {
    const zeroed = zeros(rt, inputs, `conv1d.${pass}.trial`);
    return {
      run: (i: number) => rt.release(gpuStorage(run(list[i].value, zeroed)).buffer),
      dispose: () => zeroed.forEach((s) => rt.release(s.buffer)),
    };
  };
  return rt.tuner.choose(`conv1d.${pass} ${describe(g, p)}`, rule, candidates, trial);
}

/** One pass on the tiled core. `a` and `b` are the buffers behind the GEMM's A and B (see the shader). */
function tiledPass(rt: GpuRuntime, pass: Pass, a: Storage, b: Storage, bias: Storage | null, g: Geometry, p: Conv1dParams, cfg: GemmTileConfig, shapes: string): GpuStorage {
  const { M, N, K } = gemmView(pass, g);
  const { tileM, tileN, constants } = tileLaunch(cfg);
  // The backward weight is a small C with a long reduction: split the reduction so the grid fills a GPU.
  let chunks = 1;
  let chunk = K;
  if (pass === 'backwardWeight') {
    const tiles = Math.ceil(M / tileM) * Math.ceil(N / tileN);
    const wanted = Math.min(Math.ceil(TILED_TARGET_WORKGROUPS / tiles), Math.ceil(K / MIN_CHUNK));
    chunk = Math.ceil(K / Math.max(1, wanted) / cfg.tileK) * cfg.tileK;
    chunks = Math.ceil(K / chunk);
  }
  const aBuffer = gpuStorage(a).buffer;
  return summedOverChunks(rt, M * N, chunks, shapes, (out) =>
    rt.dispatch({
      kernel: `conv1d.${pass}.tiled`,
      shapes,
      shader: tiledShader,
      entryPoint: 'gemm_tiled',
      constants: { ...constants, PASS: ['forward', 'backwardInput', 'backwardWeight'].indexOf(pass) },
      params: new Params().u32(M, N, K, g.Cin, g.L, g.Cout, g.K, g.Lout, p.stride, p.padding, p.dilation, chunk, bias ? 1 : 0),
      buffers: [aBuffer, gpuStorage(b).buffer, bias ? gpuStorage(bias).buffer : aBuffer, out.buffer],
      workgroups: [Math.ceil(N / tileN), Math.ceil(M / tileM), chunks],
    }),
  );
}

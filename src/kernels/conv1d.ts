// The conv1d family on WebGPU: forward (with optional bias), and the gradients with respect to the input and the
// weight (the bias gradient is the elementwise family's sumTo of dy over N and L, done by autograd).
//
// Layout (row-major float32, torch.nn.functional.conv1d semantics, zero padding, groups = 1):
//   x  [N, Cin, L]      w [Cout, Cin, K]      y, dy [N, Cout, Lout]
//   Lout = floor((L + 2·padding − dilation·(K − 1) − 1) / stride) + 1   (geometry.ts; ops.ts has checked Lout ≥ 1)
//   y[n, co, lo] = bias[co] + Σ_ci Σ_k w[co, ci, k] · x[n, ci, lo·stride − padding + k·dilation]
//
// Every pass has up to three kernels, chosen per device by `chooseKernel` below (the rule, or the tuner's
// measured winner). The direct ones are implicit GEMMs without workgroup memory, each invocation holding a
// register tile:
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
// gathered while the slabs are staged (./conv1d-tiled.ts), except where the GEMM is too thin for tiles (a single
// input channel, as the first layer's input gradient has).
// The CPU reference is ./cpu/conv1d.ts; the `defineKernel` entries at the end put the two side by side.

import { Params } from '../gpu/params.js';
import { grid1d, tileGrid, type GpuRuntime } from '../gpu/runtime.js';
import { allocate, gpuStorage, type GpuStorage } from '../gpu/storage.js';
import type { Variant } from '../gpu/tuner.js';
import { defineKernel, type Storage } from './backend.js';
import * as ref from './cpu/conv1d.js';
import { backwardWeightShader, layerShapes, MIN_CHUNK, passProblem, summedOverChunks, WG, type Pass } from './conv1d-partials.js';
import { convTiledName, gemmView, tiledCandidates, tiledPass, tiledRule, type ConvTiledConfig } from './conv1d-tiled.js';
import type { Conv1dGeometry as Geometry } from './geometry.js';
import backwardInputKernel from '../../shaders/conv1d-backward-input.wgsl';
import conv1dCommon from '../../shaders/conv1d-common.wgsl';
import forwardKernel from '../../shaders/conv1d-forward.wgsl';
import subgroupKernels from '../../shaders/conv1d-subgroup.wgsl';
import subgroupWeightKernel from '../../shaders/conv1d-subgroup-weight.wgsl';
import tileGridReadBack from '../../shaders/tile-grid.wgsl';

/** Longest kernel the subgroup kernel's `window` entry point holds in registers (its window array). */
const MAX_WINDOW_TAPS = 9;
/** backwardWeight cuts N·Lout into chunks until about this many workgroups run (and none shorter than MIN_CHUNK). */
const TARGET_WORKGROUPS = 256;
/** Smallest GEMM side (rows, or reduction) worth a workgroup tile. */
const MIN_TILED_SIDE = 16;

// WGSL has no includes: every shader gets the family's prelude (after the subgroup kernels' `enable`, which
// must come first); the tiled passes get the GEMM's tiled core, written out for their tile, appended.
const common = tileGridReadBack + conv1dCommon;
const forwardShader = common + forwardKernel;
const backwardInputShader = common + backwardInputKernel;
const subgroupShader = 'enable subgroups;\n' + common + subgroupKernels;
const subgroupWeightShader = 'enable subgroups;\n' + common + subgroupWeightKernel;

/** The Shape (shaders/conv1d-common.wgsl) that the direct passes' uniforms start with. */
function shapeParams(g: Geometry): Params {
  return new Params().u32(g.Cin, g.L, g.Cout, g.K, g.Lout, g.stride, g.padding, g.dilation);
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * The tap phases of the direct kernels (shaders/conv1d-forward.wgsl): with c = gcd(stride, dilation), taps
 * k and k + tapPhases (= stride/c) read inputs `step` (= lcm(stride, dilation)) apart, for outputs `spacing`
 * (= dilation/c) apart. Every direct kernel's uniform is the Shape and these three, then its own fields.
 */
function tapPhaseParams(g: Geometry): { params: Params; tapPhases: number; spacing: number; step: number } {
  const c = gcd(g.stride, g.dilation);
  const [tapPhases, spacing, step] = [g.stride / c, g.dilation / c, (g.stride * g.dilation) / c];
  return { params: shapeParams(g).u32(tapPhases, spacing, step), tapPhases, spacing, step };
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
  const lanes = rt.profile.subgroupLanes;
  if (rt.profile.kernels !== 'subgroup' || !lanes) return null;
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
  const aBuffer = gpuStorage(a).binding;
  // Stride 1 and a tap step of ±1 share each input across taps from registers (the `window` entry point).
  const window = c.stride === 1 && Math.abs(c.tapStep) === 1 && c.taps <= MAX_WINDOW_TAPS;
  rt.dispatch({
    kernel: `${c.kernel}.subgroup`,
    shapes,
    shader: subgroupShader,
    entryPoint: window ? 'window' : 'main',
    constants: { LANES: t.lanes, ROW_GROUPS: t.rowGroups, COLS: t.cols, ...(window ? { TAPS: c.taps } : {}) },
    params: new Params().u32(c.rows, c.channels, c.lengthIn, c.lengthOut, c.taps, c.stride).i32(c.offset, c.tapStep).u32(c.aStepM, c.aStepC, bias ? 1 : 0),
    buffers: [gpuStorage(src).binding, aBuffer, bias ? gpuStorage(bias).binding : aBuffer, out.binding],
    // The blocks, folded past 65535 a dimension (tile-grid.wgsl): 2.1 M rows in blocks of 32 had
    // more than that; ops.ts bounds the samples on z.
    workgroups: [...tileGrid(Math.ceil(c.rows / (t.rowGroups * t.lanes)), Math.ceil(c.lengthOut / (t.cols * t.lanes))), c.N],
  });
  return out;
}

function forwardDirect(rt: GpuRuntime, x: Storage, w: Storage, bias: Storage | null, g: Geometry, t: ForwardTile): GpuStorage {
  const y = allocate(rt, g.N * g.Cout * g.Lout, 'conv1d.y');
  const wBuffer = gpuStorage(w).binding;
  const { params, spacing } = tapPhaseParams(g);
  const groups = Math.ceil(Math.ceil(g.Lout / spacing) / (4 * t.l4));
  rt.dispatch({
    kernel: 'conv1d.forward',
    shapes: layerShapes(g),
    shader: forwardShader,
    constants: { WG, TILE_CO: t.co, TILE_L4: t.l4 },
    params: params.u32(groups, bias ? 1 : 0),
    // Without a bias, w is bound a second time in its place (read-only aliasing is allowed); the shader ignores it.
    buffers: [gpuStorage(x).binding, wBuffer, bias ? gpuStorage(bias).binding : wBuffer, y.binding],
    workgroups: [...tileGrid(Math.ceil(g.Cout / t.co), Math.ceil((spacing * groups) / WG)), g.N],
  });
  return y;
}

/** Input tile of the backward-input kernel (TILE_CI × 4·TILE_L4). */
export interface BackwardInputTile { ci: number; l4: number }

function backwardInputDirect(rt: GpuRuntime, dy: Storage, w: Storage, g: Geometry, t: BackwardInputTile): GpuStorage {
  const dx = allocate(rt, g.N * g.Cin * g.L, 'conv1d.dx');
  const { params, step } = tapPhaseParams(g);
  const groups = Math.ceil(Math.ceil(g.L / step) / (4 * t.l4));
  rt.dispatch({
    kernel: 'conv1d.backwardInput',
    shapes: layerShapes(g),
    shader: backwardInputShader,
    constants: { WG, TILE_CI: t.ci, TILE_L4: t.l4 },
    params: params.u32(groups),
    buffers: [gpuStorage(dy).binding, gpuStorage(w).binding, dx.binding],
    workgroups: [...tileGrid(Math.ceil(g.Cin / t.ci), Math.ceil((step * groups) / WG)), g.N],
  });
  return dx;
}

/** Weight tile of the backward-weight kernel (4·TILE_CO4 output channels × TILE_CI input channels × TILE_K taps). */
export interface BackwardWeightTile {
  co4: number;
  ci: number;
  k: number;
}

function backwardWeightDirect(rt: GpuRuntime, dy: Storage, x: Storage, g: Geometry, t: BackwardWeightTile): GpuStorage {
  const { tapPhases, phaseTaps } = tapSplit(g);
  const { params } = tapPhaseParams(g);
  const tapBlocks = Math.ceil(phaseTaps / t.k);
  // Phases past K hold no tap (a stride longer than the kernel): they get no tiles.
  const phases = Math.min(tapPhases, g.K);
  const colTiles = Math.ceil(g.Cin / t.ci) * phases * tapBlocks;
  const coTiles = Math.ceil(g.Cout / (4 * t.co4));
  const tileGroups = Math.ceil((colTiles * coTiles) / WG);
  const { chunkLength, chunksPerSample, samplesPerChunk, chunks } = positionChunks(rt, g, tileGroups);
  return summedOverChunks(rt, 'backwardWeight', g.Cout * g.Cin * g.K, chunks, layerShapes(g), (partials) =>
    rt.dispatch({
      kernel: 'conv1d.backwardWeight',
      shapes: layerShapes(g),
      shader: backwardWeightShader,
      entryPoint: 'partial',
      constants: { WG, TILE_CO4: t.co4, TILE_CI: t.ci, TILE_K: t.k },
      params: params.u32(chunkLength, chunksPerSample, tapBlocks, colTiles, coTiles, samplesPerChunk, g.N, phases),
      buffers: [gpuStorage(dy).binding, gpuStorage(x).binding, partials.binding],
      workgroups: [...grid1d(tileGroups, 1), chunks],
    }),
  );
}

/** The weight gradient's taps fall into stride/gcd(stride, dilation) phases of phaseTaps taps each. */
function tapSplit(g: Geometry): { tapPhases: number; phaseTaps: number } {
  const tapPhases = g.stride / gcd(g.stride, g.dilation);
  return { tapPhases, phaseTaps: Math.ceil(g.K / tapPhases) };
}

/** The weight gradient's reduction over (n, lo) cut into chunks of lo inside one sample: enough chunks that
 * about TARGET_WORKGROUPS workgroups run, none shorter than MIN_CHUNK positions (so that the reduce pass stays
 * negligible). A chunk per sample is the least, and its partials hold N copies of dw: for a big weight at a big
 * batch (w [384,384,3] at batch 96: 170 MB) more than the device binds (128 MiB on lavapipe), where the pass
 * failed although its tensors were small. There chunks take several whole samples each, as many chunks as fit. */
function positionChunks(rt: GpuRuntime, g: Geometry, workgroupsPerChunk: number): { chunkLength: number; chunksPerSample: number; samplesPerChunk: number; chunks: number } {
  const wantedChunks = Math.ceil(TARGET_WORKGROUPS / workgroupsPerChunk);
  const perSample = Math.max(1, Math.min(Math.ceil(wantedChunks / g.N), Math.floor(g.Lout / MIN_CHUNK)));
  const chunkLength = Math.ceil(g.Lout / perSample);
  const chunksPerSample = Math.ceil(g.Lout / chunkLength);
  const maxChunks = Math.max(1, Math.floor(rt.profile.limits.maxStorageBufferBindingSize / (4 * g.Cout * g.Cin * g.K)));
  if (g.N * chunksPerSample <= maxChunks) return { chunkLength, chunksPerSample, samplesPerChunk: 1, chunks: g.N * chunksPerSample };
  const samplesPerChunk = Math.ceil(g.N / maxChunks);
  return { chunkLength: g.Lout, chunksPerSample: 1, samplesPerChunk, chunks: Math.ceil(g.N / samplesPerChunk) };
}

/** The weight gradient on shaders/conv1d-subgroup-weight.wgsl (CPU drivers with subgroups). */
function subgroupWeightGradient(rt: GpuRuntime, dy: Storage, x: Storage, g: Geometry, t: SubgroupTile): GpuStorage {
  const shapes = layerShapes(g);
  if (!(t.rowGroups >= 1 && t.rowGroups <= 4 && t.rowGroups * t.lanes <= 32 && t.cols >= 1 && t.cols <= 4)) {
    throw new Error(`conv1d.backwardWeight: subgroup blocks of ${t.rowGroups} row groups of ${t.lanes} and ${t.cols} columns are too big`);
  }
  const count = g.Cout * g.Cin * g.K;
  const colBlocks = Math.ceil((g.Cin * g.K) / (t.cols * t.lanes));
  const rowBlocks = Math.ceil(g.Cout / (t.rowGroups * t.lanes));
  const { chunkLength, chunksPerSample, samplesPerChunk, chunks } = positionChunks(rt, g, colBlocks * rowBlocks);
  return summedOverChunks(rt, 'backwardWeight', count, chunks, shapes, (partials) =>
    rt.dispatch({
      kernel: 'conv1d.backwardWeight.subgroup',
      shapes,
      shader: subgroupWeightShader,
      constants: { LANES: t.lanes, ROW_GROUPS: t.rowGroups, COLS: t.cols },
      params: shapeParams(g).u32(chunkLength, chunksPerSample, samplesPerChunk, g.N),
      buffers: [gpuStorage(dy).binding, gpuStorage(x).binding, partials.binding],
      workgroups: [...tileGrid(rowBlocks, colBlocks), chunks],
    }),
  );
}

/** A pass's kernel: its per-invocation kernel's tile, the subgroup kernel's block, or the tiled core's tile. */
export type ConvTile = ForwardTile | BackwardInputTile | BackwardWeightTile | SubgroupTile | ConvTiledConfig;

/** The per-invocation kernel's tile for a pass, by rule. */
function directTile(pass: Pass, g: Geometry): ConvTile {
  if (pass === 'forward') return { co: g.Cout <= 4 ? 4 : 8, l4: 4 };
  if (pass === 'backwardInput') return g.Cin <= 2 ? { ci: 1, l4: 8 } : { ci: 4, l4: 4 };
  const k = Math.min(tapSplit(g).phaseTaps, 24);
  return { co4: 2, ci: Math.min(g.Cin, Math.max(1, Math.floor(12 / k))), k };
}

/** Runs a pass with the kernel a tile names, on the pass's inputs: forward [x, w, bias?], backwardInput
 * [dy, w], backwardWeight [dy, x]. The tuner's trials and the tests call it with every kernel. */
export function conv1dWith(rt: GpuRuntime, pass: Pass, inputs: Storage[], g: Geometry, t: ConvTile): GpuStorage {
  const [a, b, bias = null] = inputs;
  const shapes = layerShapes(g);
  if ('kernel' in t) return pass === 'backwardWeight' ? tiledPass(rt, pass, a, b, null, g, t) : tiledPass(rt, pass, b, a, bias, g, t);
  if ('lanes' in t) {
    if (pass === 'backwardWeight') return subgroupWeightGradient(rt, a, b, g, t);
    if (pass === 'forward') {
      const c = { kernel: 'conv1d.forward', N: g.N, rows: g.Cout, channels: g.Cin, lengthIn: g.L, lengthOut: g.Lout, taps: g.K };
      return correlate(rt, a, b, bias, { ...c, stride: g.stride, offset: -g.padding, tapStep: g.dilation, aStepM: g.Cin * g.K, aStepC: g.K }, t, shapes);
    }
    // dx[n, ci, l] = Σ_co Σ_k w[co, ci, k] · dy[n, co, l + padding − k·dilation]: a correlation only when stride = 1.
    if (g.stride !== 1) throw new Error(`conv1dBackwardInput: the subgroup kernel needs stride 1 (${shapes})`);
    const c = { kernel: 'conv1d.backwardInput', N: g.N, rows: g.Cin, channels: g.Cout, lengthIn: g.Lout, lengthOut: g.L, taps: g.K };
    return correlate(rt, a, b, null, { ...c, stride: 1, offset: g.padding, tapStep: -g.dilation, aStepM: g.K, aStepC: g.Cin * g.K }, t, shapes);
  }
  if ('co' in t) return forwardDirect(rt, a, b, bias, g, t);
  if ('ci' in t && 'l4' in t) return backwardInputDirect(rt, a, b, g, t);
  return backwardWeightDirect(rt, a, b, g, t);
}

/** The kernel for a pass: the tuner's measured winner where it has one, else the rule: the tiled core on GPUs
 * (unless the GEMM is too thin for tiles), the subgroup kernel where the device has one, else the direct one. */
function chooseKernel(rt: GpuRuntime, pass: Pass, g: Geometry, inputs: Storage[]): Variant {
  const problem = passProblem(pass, g);
  const known = rt.tuner.known(problem);
  if (known) return known;
  const variant = (name: string, t: ConvTile): Variant => ({ name, run: (on) => conv1dWith(rt, pass, on, g, t) });
  const { M, K } = gemmView(pass, g);
  const direct = () => variant('direct', directTile(pass, g));
  const subgroup = () => {
    const block = pass === 'backwardInput' && g.stride !== 1 ? null : subgroupTile(rt, M);
    return block ? variant('subgroup', block) : null;
  };
  const rule = () => {
    const tiled = M >= MIN_TILED_SIDE && K >= MIN_TILED_SIDE ? tiledRule(rt.profile, pass, g) : null;
    return tiled ? variant(convTiledName(tiled), tiled) : (subgroup() ?? direct());
  };
  const all = () => [direct(), subgroup(), ...tiledCandidates(rt.profile, pass, g).map((cfg) => variant(convTiledName(cfg), cfg))].filter((v): v is Variant => v !== null);
  return rt.tuner.choose(problem, rule, all, inputs);
}

function runPass(rt: GpuRuntime, pass: Pass, inputs: Storage[], g: Geometry): GpuStorage {
  return chooseKernel(rt, pass, g, inputs).run(inputs.map(gpuStorage));
}

// ------------------------------------------------------------------------------------------------ the kernels
// Each on the GPU (the kernel chosen above) and on the CPU (the reference), with the geometry ops.ts computed.

const xShape = (g: Geometry) => [g.N, g.Cin, g.L];
const wShape = (g: Geometry) => [g.Cout, g.Cin, g.K];

/** y [N,Cout,Lout] from x [N,Cin,L], w [Cout,Cin,K] and an optional bias [Cout]. */
export const conv1d = defineKernel(
  (rt, x: Storage, w: Storage, bias: Storage | null, g: Geometry): Storage => runPass(rt, 'forward', bias ? [x, w, bias] : [x, w], g),
  (c, x, w, bias, g) => c.out(ref.conv1d(c.data(x), xShape(g), c.data(w), wShape(g), bias && c.data(bias), g)),
);

/** dx [N,Cin,L] from dy [N,Cout,Lout] and w. */
export const conv1dBackwardInput = defineKernel(
  (rt, dy: Storage, w: Storage, g: Geometry): Storage => runPass(rt, 'backwardInput', [dy, w], g),
  (c, dy, w, g) => c.out(ref.conv1dBackwardInput(c.data(dy), c.data(w), xShape(g), wShape(g), g)),
);

/** dw [Cout,Cin,K] from dy [N,Cout,Lout] and x. */
export const conv1dBackwardWeight = defineKernel(
  (rt, dy: Storage, x: Storage, g: Geometry): Storage => runPass(rt, 'backwardWeight', [dy, x], g),
  (c, dy, x, g) => c.out(ref.conv1dBackwardWeight(c.data(dy), c.data(x), xShape(g), wShape(g), g)),
);

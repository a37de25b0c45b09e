// The GEMM family: one kernel, C[M,N] = op(A)·op(B) (+ bias[N] broadcast over rows) (then relu), that serves
// matmul, linear (x·Wᵀ + b through transB) and all their backward passes through the transpose flags:
//   forward   C  = op(A)·op(B) + bias
//   backward  dA = dC·op(B)ᵀ      (stored [K,M] when transA: op(B)·dCᵀ)
//             dB = op(A)ᵀ·dC      (stored [N,K] when transB: dCᵀ·op(A))
//             dbias = Σ_rows dC   (sumTo, elementwise family)
// (./cpu/gemm.ts, the CPU reference, spells out the flags of each in `gemmBackward`.)
// Layout: row-major float32. A is [M,K] ([K,M] when transA), B is [K,N] ([N,K] when transB), bias [N], C [M,N].
// Any M, N, K >= 1 (no multiple-of-tile assumptions); C is a new storage.
//
// Three kernels, chosen per adapter (the device profile's KernelStyle, src/gpu/device.ts) and sized per
// problem (gemmConfig). The flags (transposes, bias, relu) are uniforms: one pipeline per config, which matters
// where compiling is slow (lavapipe: seconds). The exception is the tiled core's aligned specialisation (GPUs
// only, below), one pipeline per config and transpose pair, since its staging differs per pair.
//  - 'tiled' (GPUs): the workgroup-tiled core, written out per tile configuration by ./tiled-gemm-core.ts and
//    appended to shaders/gemm.wgsl (the operands): 128×256 to 32×32 workgroup tiles staged in workgroup
//    memory, 8×16, 8×8 or 4×4 register blocks per thread read from the slabs as vec4s, next slabs prefetched
//    into registers, one or two slab buffers. Every candidate is in TILED_CONFIGS; the tuner times them per
//    shape. Products of whole tiles (M, N multiples of the tile, K of the slab depth) take the core's aligned
//    specialisation instead, appended to shaders/gemm-aligned.wgsl: vec4 reads and writes, no bounds checks,
//    the staging written out per transpose pair (tiledLaunch). Such products with too few tiles to fill a GPU
//    may split the reduction over 2 or 4 workgroups per tile (`splitK`, a tuning candidate: splitConfigs),
//    their partial products added up by shaders/gemm-split.wgsl.
//  - 'subgroup' (shaders/gemm-subgroup.wgsl; CPU drivers with the 'subgroups' feature): lavapipe turns every
//    load whose address differs per lane into a scalar loop over the SIMD lanes, and runs a barrier as a
//    coroutine switch; here each lane loads values that all lanes use, shared by subgroup shuffles, with no
//    workgroup memory. Measured 2-3× the direct kernel on lavapipe.
//  - 'direct' (shaders/gemm-direct.wgsl; CPU drivers without subgroups, and a GPU candidate for products too
//    thin for tiles): each thread reads A and B itself into a register block, 16×16 for big products
//    (measured ~1.5× 8×8 and ~1.8× 4×4 on lavapipe), no barriers. Its sizes are WGSL override constants.

import type { DeviceProfile } from '../gpu/device.js';
import { Params } from '../gpu/params.js';
import { grid1d, MAX_GRID_SIDE, tileGrid, type GpuRuntime } from '../gpu/runtime.js';
import { allocate, gpuStorage, type GpuStorage } from '../gpu/storage.js';
import type { Variant } from '../gpu/tuner.js';
import { defineKernel, type Storage } from './backend.js';
import * as ref from './cpu/gemm.js';
import alignedOperandFunctions from '../../shaders/gemm-aligned.wgsl';
import common from '../../shaders/gemm-common.wgsl';
import gemmParams from '../../shaders/gemm-params.wgsl';
import operandFunctions from '../../shaders/gemm.wgsl';
import directKernel from '../../shaders/gemm-direct.wgsl';
import splitSumKernel from '../../shaders/gemm-split.wgsl';
import tileGridReadBack from '../../shaders/tile-grid.wgsl';
import subgroupKernel from '../../shaders/gemm-subgroup.wgsl';
import { transposeGpu } from './transpose.js';
import { tiledAligned, tiledGemmShader, tiledSlabBytes, tiledThreads, tiledTile, type AlignedOperands, type TiledLayout } from './tiled-gemm-core.js';

// WGSL has no includes: the family's uniforms and bindings are prepended (after the subgroup kernel's
// `enable`, which must come first); the tiled core (per config) or the direct kernel is appended to the operands.
const params = tileGridReadBack + gemmParams;
const operands = params + common + operandFunctions;
const alignedOperands = params + alignedOperandFunctions;
const directShader = operands + directKernel;
const subgroupShader = 'enable subgroups;\n' + params + common + subgroupKernel;
const splitSumShader = params + splitSumKernel;

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

/** A launch configuration of the tiled core (see ./tiled-gemm-core.ts for the fields) or of the direct kernel
 * (shaders/gemm-direct.wgsl: the same thread layout; rowVecs, colVecs 1 to 4; tileK and doubleBuffer unused). */
export interface GemmTileConfig extends TiledLayout {
  kernel: 'tiled' | 'direct';
  /** The tiled core only: the reduction split over this many workgroups per tile, whose partial sums a second
   * pass adds up (a GEMM's, on products of whole tiles: shaders/gemm-split.wgsl; a convolution's: the reduce
   * entry of shaders/conv1d-backward-weight.wgsl). For products with too few tiles to fill a GPU (1024³ on
   * 64×128 tiles: 128 workgroups for 132 SMs). */
  splitK?: number;
  /** The tiled core on products of whole tiles only: the operands it would read along k (a plain A, a transposed
   * B) transposed first (./transpose.ts), so that it reads both along their sides. On the H200 GEMM 4096³ ran
   * 42.0-42.5 TFLOP/s in that layout, 39.1-39.3 with one operand along k and 35.0-36.2 with two (the header of
   * ./tiled-gemm-core.ts); a 4096² transpose moves 128 MB, about 1 % of the product's time there. On the H100
   * (bench/results/bench-nvidia-nvidia-h100-80gb-hbm3.txt, at 15d441f and again at 69eb641) the transposed 64×64
   * tile of 8×8 won 4096³ at 42.2-42.3 TFLOP/s against 39.7 untransposed, and 4096³ with B transposed at 41.4
   * against 36.6; at 1024³ the split reductions won. */
  transposeFirst?: boolean;
}

/** A launch configuration of shaders/gemm-subgroup.wgsl. */
export interface GemmSubgroupConfig {
  kernel: 'subgroup';
  /** The driver's subgroup size; the workgroup is one subgroup. */
  lanes: number;
  /** Row groups of `lanes` rows (at most 4, and rowGroups·lanes <= 32) and columns per lane (1 to 4). */
  rowGroups: number;
  cols: number;
}

export type GemmConfig = GemmTileConfig | GemmSubgroupConfig;

/** Threads along one side: as many as the side has blocks, up to `max` (powers of two). */
const sideThreads = (length: number, vecs: number, max: number) => Math.min(max, 2 ** Math.ceil(Math.log2(Math.ceil(length / (4 * vecs)))));

/** Tile sizes for a problem: big tiles when there are enough of them to fill a GPU, smaller ones for small or
 * skinny outputs so that the grid keeps some parallelism and few threads compute padding. */
export function gemmConfig(profile: DeviceProfile, M: number, N: number): GemmConfig {
  const kernel = profile.kernels;
  if (kernel === 'subgroup') {
    // 32-row blocks for big products (each load then feeds 32·cols FMAs per lane; measured ~1.3× 16 rows
    // at 512³), 16 rows otherwise; narrower blocks for skinny outputs.
    const lanes = profile.subgroupLanes!;
    const cols = N <= lanes ? 1 : N <= 2 * lanes ? 2 : 4;
    const rows = M * N >= 256 * 256 ? 32 : 16;
    const rowGroups = Math.max(1, Math.min(Math.ceil(M / lanes), Math.floor(rows / lanes), 4));
    return { kernel, lanes, rowGroups, cols };
  }
  if (kernel === 'direct') return directGemmConfig(M, N);
  return tiledGemmConfig(profile.limits, M, N);
}

/** The direct kernel's blocks. Two sizes only, since each config is a pipeline that lavapipe compiles for
 * seconds (16×16: ~10 s): 16×16 per thread for big products, 4×4 for the rest (the model's small layers), with
 * 64 threads of which a short N (the classifier's 4..8 outputs) hands its share to M rather than computing padding. */
function directGemmConfig(M: number, N: number): GemmTileConfig {
  if (M >= 128 && N >= 128) return { kernel: 'direct', wgX: 8, wgY: 8, rowVecs: 4, colVecs: 4, tileK: 4 };
  const wgX = sideThreads(N, 1, 8);
  return { kernel: 'direct', wgX, wgY: sideThreads(M, 1, 64 / wgX), rowVecs: 1, colVecs: 1, tileK: 4 };
}

const tiled = (wgX: number, wgY: number, rowVecs: number, colVecs: number, tileK: number, doubleBuffer = false): GemmTileConfig => ({ kernel: 'tiled', wgX, wgY, rowVecs, colVecs, tileK, ...(doubleBuffer ? { doubleBuffer } : {}) });
/** The rules' tiles, from the H100's sweep at 0f49b49 (`git show 15d441f:bench/results/bench-nvidia-nvidia-h100-80gb-hbm3.txt`):
 * big GEMMs ran fastest on 64×128 or 128×64 tiles of 8×8 per thread, 128 threads (4096³: 38-39 TFLOP/s, against
 * 32-34 on 128×128), and the convolutions on 64×64 tiles of 4×4 (87 of their 111 shapes; 52 of those with 16-deep
 * double-buffered slabs, the most of any); 32×32 keeps small products' grids full. */
const WIDE = tiled(16, 8, 2, 2, 8);
const MEDIUM = tiled(16, 16, 1, 1, 16);
const MEDIUM_DB = tiled(16, 16, 1, 1, 16, true);
const SMALL = tiled(8, 8, 1, 1, 16);

/** The tiled core's configurations, which the tuner times on GPUs (each is a pipeline to compile, so the list
 * keeps those that won some shape in the H200 and H100 sweeps):
 *  - the rules' four (above);
 *  - 128×128 of 8×8 per thread (the H200's best for big products before the aligned path);
 *  - 128×64 of 8×8, the other half-size tile (the H100's best for 4096³ with A transposed);
 *  - 64×64 of 4×4 with 8-deep double-buffered slabs (won 9 convolution shapes on the H100);
 *  - 64×64 of 8×8 with 16-deep slabs, 64 threads (on the H200 the best for every 4096³ product; at 1024³ it makes
 *    256 workgroups where 64×128 tiles make 128);
 *  - 64×128 of 8×8 with 16-deep slabs (the H200's best for the default model's 16x64x3000 forward and input
 *    gradient, and for 1024³ with B transposed);
 *  - 64×64 of 8×4 and of 4×8, 128 threads, between 4×4's 256 and 8×8's 64 (the best for 20 and 12 of the 151
 *    problems tuned in two H200 runs, among them the model's 16x128x750 and 16x128x187 layers);
 *  - 64×32 of 8×4, 64 threads, twice the workgroups of the 64×64 tiles (the best for 7 of the 120 problems of the
 *    H100's sweep at 69eb641, weight gradients mostly). It was put on trial with 32×64 of 4×8 for the m5 design's
 *    short forwards, under 1.5× tfjs on the H100; neither won one, and 32×64 won no problem in a sweep the
 *    device's clock left alone, so it went.
 * The three before 64×32 were tried in the H200 run at e2d5cf6 (`git show 5cf3c4c:bench/results/bench-nvidia-nvidia-h200.txt`) and
 * bench-nvidia-nvidia-h200-side-major.txt and kept in bench-nvidia-nvidia-h200-final.txt, beside 128×64 of 8×8
 * with 16-deep slabs (dropped: best once, by 4 %, and 1.8× slower than the best on the same problem in the second
 * run). Dropped before: 128×128 with 16-deep slabs (no GEMM win on the H200) and with two 8-deep buffers (no win
 * in the H100's sweep nor the H200's, yet a pipeline to compile per problem), 128×256 of 8×16 (none on the H100:
 * 28 TFLOP/s at 4096³ against 38-39 on 64×128); tried on the H200 and not taken: 8×16 and 16×8 blocks per thread
 * (128×128 of 8×16 was within 2 % of the best at 4096³ and among the slowest on every convolution); tried on the H100
 * and not taken (bench-nvidia-nvidia-h100-80gb-hbm3-deep-slabs.txt, 35 problems): 64×64 of 8×4 with two 16-deep
 * buffers (best on none) and 64×64 of 8×4 and of 4×8 with 32-deep slabs (best on 4 of the default model's weight
 * gradients, by 2-10 %, and 14 % or more behind the best on every forward tuned). SMALL stays last
 * (test/kernels/conv1d.test.ts runs every pass on it). */
export const TILED_CONFIGS: readonly GemmTileConfig[] = [
  tiled(16, 16, 2, 2, 8),
  tiled(8, 16, 2, 2, 8),
  WIDE,
  MEDIUM,
  MEDIUM_DB,
  tiled(16, 16, 1, 1, 8, true),
  tiled(8, 8, 2, 2, 16),
  tiled(16, 8, 2, 2, 16),
  tiled(8, 16, 1, 2, 16),
  tiled(16, 8, 2, 1, 16),
  tiled(8, 8, 2, 1, 16),
  SMALL,
];

/** Workgroup tiles for a GEMM on the tiled core (GPUs) when it is not tuned: big tiles when there are enough of
 * them to fill a GPU (a few hundred workgroups at once), smaller ones for small or skinny outputs so that the
 * grid keeps some parallelism and few threads compute padding. */
export function tiledGemmConfig(limits: Limits, M: number, N: number): GemmTileConfig {
  if (tileCount(WIDE, M, N) >= 128 && fits(WIDE, limits, M, N)) return WIDE;
  if (tileCount(MEDIUM, M, N) >= 64 && fits(MEDIUM, limits, M, N)) return MEDIUM;
  return SMALL;
}

/** The same for a convolution pass as an implicit GEMM: 64×64 tiles (double-buffered) from 64 of them, else 32×32. */
export function tiledConvConfig(limits: Limits, M: number, N: number): GemmTileConfig {
  return tileCount(MEDIUM_DB, M, N) >= 64 && fits(MEDIUM_DB, limits, M, N) ? MEDIUM_DB : SMALL;
}

type Limits = Pick<GPUSupportedLimits, 'maxComputeWorkgroupStorageSize'>;
/** Workgroups of `c`'s tiles over C of M×N. */
export const tileCount = (c: GemmTileConfig, M: number, N: number) => {
  const { tileM, tileN } = tiledTile(c);
  return Math.ceil(M / tileM) * Math.ceil(N / tileN);
};
const fits = (c: GemmTileConfig, limits: Limits, M: number, N: number) => tiledSlabBytes(c) <= limits.maxComputeWorkgroupStorageSize && !tooThin(c, M, N);

/** Whether C of M×N is too thin for a tile: a side under a quarter of the tile's leaves at least 3/4 of its
 * threads computing padding (a 1-channel convolution's input gradient took 20-300× the direct kernel's time
 * on 32×32 to 128×128 tiles on an H100). */
export function tooThin(c: GemmTileConfig, M: number, N: number): boolean {
  const { tileM, tileN } = tiledTile(c);
  return 4 * M < tileM || 4 * N < tileN;
}

/** The tiled core's configurations that this device holds for C of M×N (N goes on the grid's x), and that
 * are not too thin for it. */
export function tiledConfigsFor(limits: Pick<GPUSupportedLimits, 'maxComputeWorkgroupStorageSize' | 'maxComputeWorkgroupsPerDimension'>, M: number, N: number): GemmTileConfig[] {
  return TILED_CONFIGS.filter((c) => tiledSlabBytes(c) <= limits.maxComputeWorkgroupStorageSize && Math.ceil(N / tiledTile(c).tileN) <= limits.maxComputeWorkgroupsPerDimension && !tooThin(c, M, N));
}

/** Tile sides and override constants of a tiled or direct configuration (the tiled core has none: its
 * sizes are literals in its text). */
export function tileLaunch(cfg: GemmTileConfig): { tileM: number; tileN: number; constants: Record<string, number> } {
  const { tileM, tileN } = tiledTile(cfg);
  if (cfg.kernel === 'tiled') return { tileM, tileN, constants: {} };
  return { tileM, tileN, constants: { WG_X: cfg.wgX, WG_Y: cfg.wgY, ROW_VECS: cfg.rowVecs, COL_VECS: cfg.colVecs } };
}

/** The kernel for a product: the tuner's measured winner where it has one, else the rule (gemmConfig). */
function chooseKernel(rt: GpuRuntime, o: GemmOptions, inputs: Storage[]): Variant {
  const { M, N, K } = o;
  // The fused activation is in the key: a variant runs with it (the tuner keeps a problem's chosen variant).
  const problem = `gemm ${M}x${N}x${K}${o.transA ? ' transA' : ''}${o.transB ? ' transB' : ''}${o.activation ? ` ${o.activation}` : ''}`;
  const known = rt.tuner.known(problem);
  if (known) return known;
  const variant = (cfg: GemmConfig): Variant => ({ name: configName(cfg), run: ([a, b, bias]) => gemmWithConfig(rt, a, b, { ...o, bias }, cfg) });
  const rule = () => variant(gemmConfig(rt.profile, M, N));
  return rt.tuner.choose(problem, rule, () => gemmCandidates(rt.profile, M, N, K, readsAlongK(o)).map(variant), inputs);
}

/** Products under this many FLOPs keep the rule's kernel, untuned: they are bound by a dispatch's fixed cost, and
 * on the H100 every candidate for the classifier's products ran within noise of the others (at 0f49b49:
 * `git show 15d441f:bench/results/bench-nvidia-nvidia-h100-80gb-hbm3.txt`), while each tuning trial costs a
 * pipeline compile per candidate at a cold start (9 of the default model's 20 tuned problems were such products). */
const TUNE_MIN_FLOPS = 2 ** 22;

/** What the tuner may choose between for an M×N product on this device: the tiled core's tile sizes on GPUs,
 * the subgroup kernel's block heights on lavapipe, the direct kernel's two register blocks elsewhere. CPU
 * drivers also time the tiled rule's tile (one pipeline, not every tile: lavapipe compiles each for seconds),
 * so that a tuning run there shows what the GPU kernel does. */
export function gemmCandidates(profile: DeviceProfile, M: number, N: number, K: number, alongK = false): GemmConfig[] {
  const rule = gemmConfig(profile, M, N);
  const tiledRule = tiledGemmConfig(profile.limits, M, N);
  const cpuTiled = tiledConfigsFor(profile.limits, M, N).includes(tiledRule) ? [tiledRule] : [];
  let configs: GemmConfig[];
  if (rule.kernel === 'subgroup') {
    configs = [...[1, 2, 4].filter((g) => g * rule.lanes <= 32).map((rowGroups) => ({ ...rule, rowGroups })), ...cpuTiled];
  } else if (rule.kernel === 'direct') {
    configs = [rule, { kernel: 'direct', wgX: 8, wgY: 8, rowVecs: 4, colVecs: 4, tileK: 4 }, { kernel: 'direct', wgX: 8, wgY: 8, rowVecs: 1, colVecs: 1, tileK: 4 }, ...cpuTiled];
  } else {
    // The rule's tile always (so that there is one), the direct kernel where C is thin.
    const tiles = tiledConfigsFor(profile.limits, M, N);
    configs = [rule, ...tiles, ...(alongK ? transposedFirst(tiles, M, N, K) : []), ...splitConfigs(tiles, M, N, K, (c) => splitServes(c, M, N, K)), ...(Math.min(M, N) < 32 ? [directGemmConfig(M, N)] : [])];
  }
  const names = configs.map(configName);
  return configs.filter((c, i) => names.indexOf(names[i]) === i);
}

/** The tiles with `transposeFirst`, for a product that reads an operand along k: on the aligned core (whole
 * tiles), from 1024³ up (each candidate is a pipeline to compile, and below that a transpose's dispatch would
 * cost more than the layout saves). */
export function transposedFirst(tiles: GemmTileConfig[], M: number, N: number, K: number): GemmTileConfig[] {
  if (M * N * K < 2 ** 30) return [];
  return tiles.filter((c) => tiledAligned(c, M, N, K)).map((c) => ({ ...c, transposeFirst: true }));
}

/** Split reductions of the tiles that leave a GPU short of workgroups (under 512: four per SM on an H100), for
 * the tuner to try: 2 or 4 ways, where the grid stays within 1024 workgroups, each split keeps at least 256 of K,
 * and `serves` the split (the GEMM's needs whole tiles; a convolution's takes any). Each split costs a second
 * dispatch, which a training step bound by the host pays although the tuner, timing the kernel alone, found it
 * faster: with splits of 64 the default model's step on an H200 took up to 62 dispatches (57 without), so only
 * long reductions are split (none of that model's, over 320-400; the m5 design's last input gradient, 768, in 2). */
export function splitConfigs(tiles: GemmTileConfig[], M: number, N: number, K: number, serves: (split: GemmTileConfig) => boolean = () => true): GemmTileConfig[] {
  return tiles.flatMap((c) => {
    const count = tileCount(c, M, N);
    return count >= 512 ? [] : [2, 4].map((splitK) => ({ ...c, splitK })).filter((s) => count * s.splitK <= 1024 && K / s.splitK >= 256 && serves(s));
  });
}

/** Sliced reductions (the core's kSlices) of the single-buffered tiles that leave a GPU short of workgroups (under
 * 512, as for splits), for the tuner to try: 2 or 4 slices, up to 256 threads a workgroup, where the device holds
 * the workgroup and its slabs and each slice keeps at least 4 slabs of K (fewer leave the slices' sum a large part
 * of the work). Unlike a split, no second dispatch, so short reductions qualify too. Why: the m5 design's
 * 16x128x187 forward (K = 384, too short to split) ran on 188 tiles of 64×64 and 128 threads for an H100's 132 SMs,
 * 4 warps a tile, at 14 TFLOP/s where its 16x128x750 layer (the same K, 4 times the tiles) ran at 21. */
export function slicedConfigs(tiles: GemmTileConfig[], limits: Pick<GPUSupportedLimits, 'maxComputeWorkgroupStorageSize' | 'maxComputeInvocationsPerWorkgroup'>, M: number, N: number, K: number): GemmTileConfig[] {
  return tiles.flatMap((c) => {
    if (c.doubleBuffer || c.kSlices || tileCount(c, M, N) >= 512) return [];
    return [2, 4]
      .map((kSlices) => ({ ...c, kSlices }))
      .filter((s) => tiledThreads(s) <= Math.min(256, limits.maxComputeInvocationsPerWorkgroup) && tiledSlabBytes(s) <= limits.maxComputeWorkgroupStorageSize && K >= 4 * s.kSlices * s.tileK);
  });
}

/** e.g. 'tiled 128x128 8x8 k8 db' (tile, block per thread, slab depth, two slab buffers; 'sliced2': the reduction
 * in 2 slices of the workgroup; 'transposed': `transposeFirst`), 'direct 32x32', 'subgroup 16x32'. */
export function configName(c: GemmConfig): string {
  if (c.kernel === 'subgroup') return `subgroup ${c.rowGroups * c.lanes}x${c.cols * c.lanes}`;
  const { tileM, tileN } = tiledTile(c);
  if (c.kernel === 'direct') return `direct ${tileM}x${tileN}`;
  return `tiled ${tileM}x${tileN} ${4 * c.rowVecs}x${4 * c.colVecs} k${c.tileK}${c.doubleBuffer ? ' db' : ''}${c.splitK ? ` split${c.splitK}` : ''}${c.kSlices && c.kSlices > 1 ? ` sliced${c.kSlices}` : ''}${c.transposeFirst ? ' transposed' : ''}`;
}

/** The aligned core's operand layout for a product's transposes. */
const alignedLayout = (o: GemmOptions): AlignedOperands => ({ aRowsAdjacent: !!o.transA, bColsAdjacent: !o.transB });
/** Whether the core reads an operand along k (a plain A, a transposed B): one not laid out along its side. */
const readsAlongK = (o: GemmOptions) => {
  const { aRowsAdjacent, bColsAdjacent } = alignedLayout(o);
  return !aRowsAdjacent || !bColsAdjacent;
};

/** The tiled core's shader for a product: the aligned specialisation (vec4 reads and writes, no bounds checks,
 * its staging written out for the transposes) where the product is whole tiles, else the generic core (scalar
 * reads through the bounds-checked operands, the transposes uniforms). */
function tiledLaunch(cfg: GemmTileConfig, o: GemmOptions, split = false): { shader: string; entryPoint: string; constants: Record<string, number> } {
  if (!split && !tiledAligned(cfg, o.M, o.N, o.K)) return { shader: tiledGemmShader(operands, cfg), entryPoint: 'gemm_tiled', constants: {} };
  return { shader: tiledGemmShader(alignedOperands, cfg, alignedLayout(o)), entryPoint: 'gemm_tiled', constants: { TRANS_A: o.transA ? 1 : 0, TRANS_B: o.transB ? 1 : 0, SPLIT_K: split ? 1 : 0 } };
}

/** Whether `cfg`'s split reduction serves an M×N×K product: each split a product of whole tiles on the aligned
 * core, and the tiles on the grid's x and y unfolded (z is the split). */
export function splitServes(cfg: GemmTileConfig, M: number, N: number, K: number): boolean {
  const splits = cfg.splitK ?? 1;
  const { tileM, tileN } = tiledTile(cfg);
  return cfg.kernel === 'tiled' && splits > 1 && K % splits === 0 && tiledAligned(cfg, M, N, K / splits) && M / tileM <= MAX_GRID_SIDE && N / tileN <= MAX_GRID_SIDE;
}

/** gemm with explicit tile sizes (for tuning and benchmarks). */
export function gemmWithConfig(rt: GpuRuntime, a: Storage, b: Storage, o: GemmOptions, cfg: GemmConfig): GpuStorage {
  const { M, N, K } = o;
  if (cfg.kernel === 'tiled' && cfg.transposeFirst) {
    // A plain A [M,K] becomes its transpose stored [K,M], which the core reads as a transposed A; a transposed B,
    // stored [N,K], becomes B stored [K,N], a plain B.
    const at = o.transA ? null : transposeGpu(rt, a, M, K, 'gemm A');
    const bt = o.transB ? transposeGpu(rt, b, N, K, 'gemm B') : null;
    const out = gemmWithConfig(rt, at ?? a, bt ?? b, { ...o, transA: true, transB: false }, { ...cfg, transposeFirst: false });
    for (const t of [at, bt]) if (t) rt.release(t.buffer);
    return out;
  }
  const out = allocate(rt, M * N, 'gemm.out');
  if (M === 0 || N === 0) return out;
  const aShape = o.transA ? `[${K},${M}]ᵀ` : `[${M},${K}]`;
  const bShape = o.transB ? `[${N},${K}]ᵀ` : `[${K},${N}]`;
  const shapes = `A${aShape} B${bShape}${o.bias ? ` bias[${N}]` : ''}${o.activation ? ` ${o.activation}` : ''}`;
  const splits = cfg.kernel === 'subgroup' ? 1 : (cfg.splitK ?? 1);
  const params = new Params().u32(M, N, K, o.transA ? 1 : 0, o.transB ? 1 : 0, o.bias ? 1 : 0, o.activation === 'relu' ? 1 : 0, K / splits);
  const ga = gpuStorage(a).binding;
  const gb = gpuStorage(b).binding;
  const biasBuffer = o.bias ? gpuStorage(o.bias).binding : null;
  if (splits > 1 && cfg.kernel !== 'subgroup') {
    if (!splitServes(cfg, M, N, K)) throw new Error(`gemm: ${configName(cfg)} needs whole tiles and K a multiple of ${splits}·${cfg.tileK} (M=${M} N=${N} K=${K})`);
    const { tileM, tileN } = tiledTile(cfg);
    const partials = allocate(rt, splits * M * N, 'gemm.partials');
    // Without a bias, A stands in at binding 3 (read-only twice is allowed); the shader never reads it.
    rt.dispatch({ kernel: 'gemm.tiled', shapes, ...tiledLaunch(cfg, o, true), params, buffers: [ga, gb, ga, partials.binding], workgroups: [N / tileN, M / tileM, splits] });
    const [gx, gy] = grid1d((M * N) / 4, 256);
    rt.dispatch({ kernel: 'gemm.splitSum', shapes, shader: splitSumShader, entryPoint: 'sum_splits', params, buffers: [partials.binding, biasBuffer ?? partials.binding, out.binding], workgroups: [gx, gy] });
    rt.release(partials.buffer);
    return out;
  }
  let tileM: number;
  let tileN: number;
  let launch: { shader: string; entryPoint: string; constants: Record<string, number> };
  if (cfg.kernel === 'subgroup') {
    tileM = cfg.rowGroups * cfg.lanes;
    tileN = cfg.cols * cfg.lanes;
    if (!(cfg.rowGroups <= 4 && tileM <= 32 && cfg.cols >= 1 && cfg.cols <= 4)) throw new Error(`gemm: subgroup blocks of ${cfg.rowGroups} row groups of ${cfg.lanes} and ${cfg.cols} columns are too big`);
    launch = { shader: subgroupShader, entryPoint: 'gemm_subgroup', constants: { LANES: cfg.lanes, ROW_GROUPS: cfg.rowGroups, COLS: cfg.cols } };
  } else {
    const tiles = tileLaunch(cfg);
    ({ tileM, tileN } = tiles);
    launch = cfg.kernel === 'tiled' ? tiledLaunch(cfg, o) : { shader: directShader, entryPoint: 'gemm_direct', constants: tiles.constants };
  }
  rt.dispatch({
    kernel: `gemm.${cfg.kernel}`,
    shapes,
    ...launch,
    params,
    // Without a bias, A stands in at binding 3 (read-only twice is allowed); the shader never reads it.
    buffers: [ga, gb, biasBuffer ?? ga, out.binding],
    // The tiles, folded into 2-D past the per-dimension limit (gemm-params.wgsl's tileOf).
    workgroups: tileGrid(Math.ceil(M / tileM), Math.ceil(N / tileN)),
  });
  return out;
}

/** C = op(A)·op(B) (+ bias) (then relu): on the GPU the kernel chosen above, on the CPU the reference. */
export const gemm = defineKernel(
  (rt, a: Storage, b: Storage, o: GemmOptions): Storage => {
    // Products too small to tune run the rule's kernel, with no variant built for them.
    if (2 * o.M * o.N * o.K < TUNE_MIN_FLOPS) return gemmWithConfig(rt, a, b, o, gemmConfig(rt.profile, o.M, o.N));
    const inputs = o.bias ? [a, b, o.bias] : [a, b];
    return chooseKernel(rt, o, inputs).run(inputs.map(gpuStorage));
  },
  (c, a, b, o) => c.out(ref.gemm(c.data(a), c.data(b), { ...o, bias: o.bias && c.data(o.bias) })),
);

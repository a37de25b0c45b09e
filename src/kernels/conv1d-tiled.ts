// The conv1d passes on the GEMM's workgroup-tiled core (GPUs), as implicit GEMMs whose im2col operand is gathered
// while the slabs are staged (shaders/conv1d-tiled.wgsl). Two stagings:
//  - quads (the default): the core's aligned staging, reading 4 elements at a time through the shader's loadA4
//    and loadB4, which check each element's bounds without branches and compute the quad's divisions and
//    remainders once for its 4 elements;
//  - scalar: the core's generic staging, every element's index computed on its own. Kept as a tuning candidate on
//    the rule's tile.
// A big forward's tiles, sliced ones too, are also offered with w transposed first (`transposed`, GPU_BOUND_MIN
// below).
// Why quads: in the H200's tuning at a29f577 (scalar staging) the model's 16x64x3000 and 16x128x187 convolutions
// ran at 13.2 and 5.6 TFLOP/s on 64×64 tiles of 8×8 per thread (64 threads, each staging 32 scalars a slab),
// where the 1024³ GEMM ran 24.7; on 64×64 of 4×4 (256 threads, 8 scalars each) at 14.1 and 8.1 against 20.6.
// Measured since (`git show 5cf3c4c:bench/results/bench-nvidia-nvidia-h200.txt`, e2d5cf6), on the rule's tile: quads took 0.93 of
// the scalars' time (geometric mean over 111 problems) and were faster in 69, but 16-24 % slower on the model's
// 16x64x3000 and 16x128x750 forwards, so the tuner keeps timing both.
// Tried on the H100 and not taken: a forward quad inside one sample's row read as 4 loads from one index (no
// position stepped from the last, no bounds checks but at the row's ends), these quads only for the rest. It took
// 1.0-2.3× the time of these quads (named `stepped` in bench/results/bench-nvidia-nvidia-h100-80gb-hbm3-row-quads.txt)
// on every tile and every forward shape tuned (the m5 design's and the default model's).

import { Params } from '../gpu/params.js';
import { tileGrid, type GpuRuntime } from '../gpu/runtime.js';
import type { DeviceProfile } from '../gpu/device.js';
import { gpuStorage, type GpuStorage } from '../gpu/storage.js';
import type { Storage } from './backend.js';
import { layerShapes, MIN_CHUNK, summedOverChunks, type Pass } from './conv1d-partials.js';
import { configName, slicedConfigs, splitConfigs, tileCount, tiledConfigsFor, tiledConvConfig, type GemmTileConfig } from './gemm.js';
import type { Conv1dGeometry as Geometry } from './geometry.js';
import common from '../../shaders/conv1d-common.wgsl';
import tileGridReadBack from '../../shaders/tile-grid.wgsl';
import tiledOperands from '../../shaders/conv1d-tiled.wgsl';
import { tiledGemmShader, tiledTile, type AlignedOperands } from './tiled-gemm-core.js';
import { transposeGpu } from './transpose.js';

/** A tile of the core for a conv1d pass; `scalarStaging`: the generic staging, not quads (see the header). */
export type ConvTiledConfig = GemmTileConfig & { scalarStaging?: boolean };

/** The backward weight splits its reduction until about this many workgroups run (a GPU's few hundred). */
const TARGET_WORKGROUPS = 512;

const prelude = tileGridReadBack + common + tiledOperands;

/** The pass as a GEMM: C[M,N] reduced over K (see shaders/conv1d-tiled.wgsl). */
export function gemmView(pass: Pass, g: Geometry): { M: number; N: number; K: number } {
  if (pass === 'forward') return { M: g.Cout, N: g.N * g.Lout, K: g.Cin * g.K };
  if (pass === 'backwardInput') return { M: g.Cin, N: g.N * g.L, K: g.Cout * g.K };
  return { M: g.Cout, N: g.Cin * g.K, K: g.N * g.Lout };
}

/** The sides along which the quad staging reads each operand's quads (shaders/conv1d-tiled.wgsl's loadA4 and
 * loadB4): along memory's contiguous side where there is one, else (the input gradient's w) the rows. */
const QUAD_SIDES: Record<Pass, AlignedOperands> = {
  forward: { aRowsAdjacent: false, bColsAdjacent: true },
  backwardInput: { aRowsAdjacent: true, bColsAdjacent: true },
  backwardWeight: { aRowsAdjacent: false, bColsAdjacent: false },
};
/** The forward with w transposed first ([Cin·Kw, Cout], `transposeFirst`): its A quads along the rows, as the
 * input gradient reads its own. */
const TRANSPOSED_FORWARD_SIDES: AlignedOperands = { aRowsAdjacent: true, bColsAdjacent: true };

/** Passes from this size of GEMM (M·N·K) up are also offered the candidates that pay only where a step waits on the
 * GPU: a forward's tiles with w transposed first (a dispatch more, which a step bound by the host pays), and the
 * forward's and input gradient's sliced reductions (slicedConfigs; no dispatch more, but each a pipeline to compile
 * per problem at tuning: 8 % more candidates than at 367ef6e over the H100 run's 111 convolution problems, where
 * sliced reductions for passes of every size would have made 33 %). So not the default and compact models' layers
 * at batch 16 (at most 2.5·10⁸, steps bound by the host), but the m5 design's 16x128x187, 16x128x750 and 16x64x3000
 * (2.9·10⁸, 5.9·10⁸ and 1.2·10⁹) and the bigger layers at batch 64.
 * On the H100 the last two forwards chose w transposed at 367ef6e, 8 % and 16 % faster than untransposed; the first
 * chose it sliced in 2, 0.032 ms where the best untransposed tile took 0.041 and the best unsliced one 0.039, and
 * its input gradient 64×64 tiles of 8×8 sliced in 4, 0.035 ms against 0.038 split in 2
 * (bench/results/bench-nvidia-nvidia-h100-80gb-hbm3-conv.txt). Why transposed: on the H100 (69eb641) the forward of
 * a layer whose GEMM is the same size as its input gradient's (Cin = Cout, stride 1) took 1.2-1.36× the input
 * gradient's time on the same tile for every such layer of some size, and the one difference between the two is
 * w's side: the forward reads it along k (each quad scattered over 4 k rows of the slab), the input gradient along
 * the rows (a quad a slab vec4). */
const GPU_BOUND_MIN = 2 ** 28;

export const convTiledName = (cfg: ConvTiledConfig) => configName(cfg) + (cfg.scalarStaging ? ' scalar' : '');

/** The tiles the tuner may time for a pass on this device (none off GPUs): every tile not too thin for the
 * GEMM (a single input channel makes the input gradient's M = 1, which no tile suits); their split reductions where
 * the tiles are few (not the backward weight's, which tiledPass always splits); for a big pass (GPU_BOUND_MIN)
 * their sliced reductions (again not the backward weight's) and, for a forward, all those with w transposed first;
 * and the rule's tile with scalars (see the header). */
export function tiledCandidates(profile: DeviceProfile, pass: Pass, g: Geometry): ConvTiledConfig[] {
  if (profile.kernels !== 'tiled') return [];
  const { M, N, K } = gemmView(pass, g);
  const big = M * N * K >= GPU_BOUND_MIN;
  const tiles = tiledConfigsFor(profile.limits, M, N);
  const splits = pass === 'backwardWeight' ? [] : splitConfigs(tiles, M, N, K);
  const sliced = big && pass !== 'backwardWeight' ? slicedConfigs(tiles, profile.limits, M, N, K) : [];
  const transposed = big && pass === 'forward' ? [...tiles, ...sliced].map((c) => ({ ...c, transposeFirst: true })) : [];
  const rule = tiledRule(profile, pass, g);
  return [...tiles, ...splits, ...sliced, ...transposed, ...(rule ? [{ ...rule, scalarStaging: true }] : [])];
}

/** The tile the rule gives a pass on this device, where it has one: on GPUs, and among the tiles that suit the
 * pass's GEMM (tiledConfigsFor); else null. */
export function tiledRule(profile: DeviceProfile, pass: Pass, g: Geometry): ConvTiledConfig | null {
  if (profile.kernels !== 'tiled') return null;
  const { M, N } = gemmView(pass, g);
  const rule = tiledConvConfig(profile.limits, M, N);
  return tiledConfigsFor(profile.limits, M, N).includes(rule) ? rule : null;
}

/** One pass on the tiled core. `a` and `b` are the buffers behind the GEMM's A and B (see the shader). */
export function tiledPass(rt: GpuRuntime, pass: Pass, a: Storage, b: Storage, bias: Storage | null, g: Geometry, cfg: ConvTiledConfig): GpuStorage {
  const { M, N, K } = gemmView(pass, g);
  const { tileM, tileN } = tiledTile(cfg);
  // The backward weight is a small C with a long reduction: split the reduction so the grid fills a GPU. The
  // other passes split it where the tile says so (a tuning candidate for layers of few tiles).
  let wanted = cfg.splitK ?? 1;
  if (pass === 'backwardWeight') wanted = Math.min(Math.ceil(TARGET_WORKGROUPS / tileCount(cfg, M, N)), Math.ceil(K / MIN_CHUNK));
  // Whole slabs per chunk: no quad crosses a chunk's end (the quads check K's, not a chunk's).
  const chunk = Math.ceil(K / Math.max(1, wanted) / cfg.tileK) * cfg.tileK;
  const chunks = Math.ceil(K / chunk);
  const shapes = layerShapes(g);
  const shape = { CIN: g.Cin, LENGTH: g.L, COUT: g.Cout, KW: g.K, LOUT: g.Lout, STRIDE: g.stride, PADDING: g.padding, DILATION: g.dilation };
  const transposed = pass === 'forward' && cfg.transposeFirst ? transposeGpu(rt, a, M, K, `conv1d.forward w (${shapes})`) : null;
  const aBuffer = gpuStorage(transposed ?? a).binding;
  const sides = transposed ? TRANSPOSED_FORWARD_SIDES : QUAD_SIDES[pass];
  const result = summedOverChunks(rt, pass, M * N, chunks, shapes, (out) =>
    rt.dispatch({
      kernel: `conv1d.${pass}.tiled`,
      shapes,
      shader: cfg.scalarStaging ? tiledGemmShader(prelude, cfg) : tiledGemmShader(prelude, cfg, sides),
      entryPoint: 'gemm_tiled',
      constants: { PASS: ['forward', 'backwardInput', 'backwardWeight'].indexOf(pass), ...shape, ...(transposed ? { W_TRANSPOSED: 1 } : {}) },
      params: new Params().u32(M, N, K, chunk, bias ? 1 : 0),
      buffers: [aBuffer, gpuStorage(b).binding, bias ? gpuStorage(bias).binding : aBuffer, out.binding],
      workgroups: [...tileGrid(Math.ceil(M / tileM), Math.ceil(N / tileN)), chunks],
    }),
  );
  if (transposed) rt.release(transposed.buffer);
  return result;
}

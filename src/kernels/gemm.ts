// The GEMM family: one kernel, C[M,N] = op(A)·op(B) (+ bias[N] broadcast over rows) (then relu), that serves
// matmul, linear (x·Wᵀ + b through transB) and all their backward passes through the transpose flags:
//   forward   C  = op(A)·op(B) + bias
//   backward  dA = dC·op(B)ᵀ      (stored [K,M] when transA: op(B)·dCᵀ)
//             dB = op(A)ᵀ·dC      (stored [N,K] when transB: dCᵀ·op(A))
//             dbias = Σ_rows dC   (sumTo, elementwise family)
// (src/engine/cpu/gemm.ts `gemmBackward` spells out the flags of each.)
// Layout: row-major float32. A is [M,K] ([K,M] when transA), B is [K,N] ([N,K] when transB), bias [N], C [M,N].
// Any M, N, K >= 1 (no multiple-of-tile assumptions); C is a new storage.
//
// Two entry points of shaders/gemm.wgsl, chosen per adapter (gemmKernel) and sized per problem (gemmConfig);
// tile sizes are WGSL override constants, so a config can be tuned per adapter without touching the WGSL:
//  - 'tiled' (GPUs): 128×128, 64×64 or 32×32 workgroup tiles staged in workgroup memory, 8×8 or 4×4
//    register blocks per thread, vec4 reads of the staged slabs, next slabs prefetched into registers.
//  - 'direct' (CPU drivers: lavapipe, SwiftShader): no workgroup memory and no barriers (a CPU driver runs a
//    barrier as a coroutine switch); each thread reads A and B itself into a register block of up to 16×16.
//    On lavapipe every load whose address differs per lane is a scalar loop over the SIMD lanes, so what counts
//    is FMAs per load: 16×16 blocks measured ~4× faster than 8×8 there (and beyond 16×16 the compiler gives up
//    unrolling and it collapses).

import type { GemmOptions, Storage } from '../engine/backend.js';
import type { AdapterDescription, GpuDevice } from '../engine/device.js';
import type { GpuRuntime } from '../engine/runtime.js';
import { Params } from '../engine/runtime.js';
import shader from '../../shaders/gemm.wgsl';
import { allocate, gpuStorage, type GpuStorage } from './storage.js';

/** One launch configuration (the override constants of one entry point). */
export interface GemmConfig {
  kernel: 'tiled' | 'direct';
  /** Threads per workgroup along N and along M. */
  wgX: number;
  wgY: number;
  /** vec4 pieces of C per thread along M and N (1 to 4): a (4·rowVecs) × (4·colVecs) register block. */
  rowVecs: number;
  colVecs: number;
  /** Depth of the workgroup-memory slabs ('tiled' only; (tile side)·tileK at most 8× the workgroup's threads). */
  tileK: number;
}

export type GemmKernel = GemmConfig['kernel'];

/** Whether the adapter is a CPU driver (lavapipe/llvmpipe, SwiftShader). */
export function isCpuAdapter(adapter: AdapterDescription): boolean {
  const text = `${adapter.vendor} ${adapter.architecture} ${adapter.device} ${adapter.description}`.toLowerCase();
  return /llvmpipe|lavapipe|swiftshader|softpipe|software/.test(text);
}

/** Which kernel suits this adapter (see the top of this file). */
export function gemmKernel(adapter: AdapterDescription): GemmKernel {
  return isCpuAdapter(adapter) ? 'direct' : 'tiled';
}

/** Threads along one side: as many as the side has blocks, up to `max` (powers of two). */
const sideThreads = (length: number, vecs: number, max: number) => Math.min(max, 2 ** Math.ceil(Math.log2(Math.ceil(length / (4 * vecs)))));

/** Tile sizes for a problem: big tiles when there are enough of them to fill a GPU, smaller ones for small or
 * skinny outputs so that the grid keeps some parallelism and few threads compute padding. */
export function gemmConfig(gpu: Pick<GpuDevice, 'adapter' | 'device'>, M: number, N: number): GemmConfig {
  const kernel = gemmKernel(gpu.adapter);
  if (kernel === 'direct') {
    // Two block sizes only, since each config is a pipeline that lavapipe compiles for seconds (16×16: ~10 s):
    // 16×16 per thread for big products, 4×4 for the rest (the model's small layers), with 64 threads of
    // which a short N (the classifier's 4..8 outputs) hands its share to M rather than computing padding.
    if (M >= 128 && N >= 128) return { kernel, wgX: 8, wgY: 8, rowVecs: 4, colVecs: 4, tileK: 4 };
    const wgX = sideThreads(N, 1, 8);
    return { kernel, wgX, wgY: sideThreads(M, 1, 64 / wgX), rowVecs: 1, colVecs: 1, tileK: 4 };
  }
  const tiles = (t: number) => Math.ceil(M / t) * Math.ceil(N / t);
  const slabBytes = (c: GemmConfig) =>
    c.tileK * (4 * c.rowVecs * c.wgY + 4 + 4 * c.colVecs * c.wgX + 4) * 4;
  const big: GemmConfig = { kernel, wgX: 16, wgY: 16, rowVecs: 2, colVecs: 2, tileK: 8 }; // 128×128, 8×8 per thread
  const medium: GemmConfig = { kernel, wgX: 16, wgY: 16, rowVecs: 1, colVecs: 1, tileK: 16 }; // 64×64, 4×4
  const small: GemmConfig = { kernel, wgX: 8, wgY: 8, rowVecs: 1, colVecs: 1, tileK: 16 }; // 32×32, 4×4
  // A big GPU holds a few hundred 256-thread workgroups at once (an H100: 132 SMs × 2 of these): big tiles
  // only once there are enough of them, else 64×64 tiles give 4× the workgroups.
  const maxBytes = gpu.device.limits.maxComputeWorkgroupStorageSize;
  if (tiles(128) >= 192 && slabBytes(big) <= maxBytes) return big;
  if (tiles(64) >= 64 && slabBytes(medium) <= maxBytes) return medium;
  return small;
}

export function gemm(rt: GpuRuntime, a: Storage, b: Storage, o: GemmOptions): GpuStorage {
  return gemmWithConfig(rt, a, b, o, gemmConfig(rt.gpu, o.M, o.N));
}

/** gemm with explicit tile sizes (for tuning and benchmarks). */
export function gemmWithConfig(rt: GpuRuntime, a: Storage, b: Storage, o: GemmOptions, cfg: GemmConfig): GpuStorage {
  const { M, N, K } = o;
  const out = allocate(rt, M * N, 'gemm.out');
  if (M === 0 || N === 0) return out;
  const tileM = 4 * cfg.rowVecs * cfg.wgY;
  const tileN = 4 * cfg.colVecs * cfg.wgX;
  // The shader's register arrays hold 4 vec4 pieces per side and 8 staged slab elements per thread.
  const threads = cfg.wgX * cfg.wgY;
  if (!(cfg.rowVecs >= 1 && cfg.rowVecs <= 4 && cfg.colVecs >= 1 && cfg.colVecs <= 4)) throw new Error(`gemm: rowVecs/colVecs must be 1..4, got ${cfg.rowVecs}/${cfg.colVecs}`);
  if (cfg.kernel === 'tiled' && !(cfg.tileK >= 1 && Math.max(tileM, tileN) * cfg.tileK <= 8 * threads)) {
    throw new Error(`gemm: tileK=${cfg.tileK} needs (tile side)·tileK <= 8·threads`);
  }
  const constants: Record<string, number> = { WG_X: cfg.wgX, WG_Y: cfg.wgY, ROW_VECS: cfg.rowVecs, COL_VECS: cfg.colVecs };
  if (cfg.kernel === 'tiled') constants.TILE_K = cfg.tileK;
  const colTiles = Math.ceil(N / tileN);
  const rowTiles = Math.ceil(M / tileM);
  if (colTiles > 65535) throw new Error(`gemm: N=${N} needs ${colTiles} column workgroups, over the 65535 limit`);
  // Fold the row tiles into (y, z) past the per-dimension limit; the shaders recover y + z·nwg.y.
  const z = Math.ceil(rowTiles / 65535);
  const y = Math.ceil(rowTiles / z);
  const ga = gpuStorage(a).buffer;
  const gb = gpuStorage(b).buffer;
  const aShape = o.transA ? `[${K},${M}]ᵀ` : `[${M},${K}]`;
  const bShape = o.transB ? `[${N},${K}]ᵀ` : `[${K},${N}]`;
  rt.dispatch({
    kernel: `gemm.${cfg.kernel}`,
    shapes: `A${aShape} B${bShape}${o.bias ? ` bias[${N}]` : ''}${o.activation ? ` ${o.activation}` : ''}`,
    shader,
    entryPoint: cfg.kernel === 'tiled' ? 'gemm_tiled' : 'gemm_direct',
    constants,
    params: new Params().u32(M, N, K, o.transA ? 1 : 0, o.transB ? 1 : 0, o.bias ? 1 : 0, o.activation === 'relu' ? 1 : 0),
    // Without a bias, A stands in at binding 3 (read-only twice is allowed); the shader never reads it.
    buffers: [ga, gb, o.bias ? gpuStorage(o.bias).buffer : ga, out.buffer],
    workgroups: [colTiles, y, z],
  });
  return out;
}

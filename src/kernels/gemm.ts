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
// Three kernels, chosen per adapter (gemmKernel) and sized per problem (gemmConfig); their tile sizes are
// WGSL override constants, so a config can be tuned per adapter without touching the WGSL:
//  - 'tiled' (shaders/gemm.wgsl, GPUs): 128×128 or 64×64 or 32×32 workgroup tiles staged in workgroup
//    memory, 8×8 or 4×4 register blocks per thread, vec4 reads of the staged slabs.
//  - 'subgroup' (shaders/gemm-subgroup.wgsl, CPU drivers that offer subgroups): no workgroup memory; each
//    lane's load is shared with the other lanes by subgroup shuffles (gathers are what costs on a CPU).
//  - 'direct' (shaders/gemm.wgsl, CPU drivers without subgroups): each thread reads A and B itself into an
//    8×8 register block; no barriers, which a CPU driver runs as coroutine switches.

import type { GemmOptions, Storage } from '../engine/backend.js';
import type { GpuDevice } from '../engine/device.js';
import type { GpuRuntime } from '../engine/runtime.js';
import { Params } from '../engine/runtime.js';
import tiledShader from '../../shaders/gemm.wgsl';
import subgroupShader from '../../shaders/gemm-subgroup.wgsl';
import { allocate, gpuStorage, type GpuStorage } from './storage.js';

/** One launch configuration (the override constants of one entry point). */
export type GemmConfig =
  | {
      kernel: 'tiled' | 'direct';
      /** Threads per workgroup along N and along M. */
      wgX: number;
      wgY: number;
      /** vec4 pieces of C per thread along M and N (1 or 2): a (4·rowVecs) × (4·colVecs) register block. */
      rowVecs: number;
      colVecs: number;
      /** Depth of the workgroup-memory slabs ('tiled' only), a multiple of 4. */
      tileK: number;
    }
  | {
      kernel: 'subgroup';
      /** The driver's subgroup size; the workgroup is one subgroup. */
      lanes: number;
      /** Row groups of `lanes` rows (rowGroups·lanes <= 32) and columns per lane (<= 4). */
      rowGroups: number;
      cols: number;
    };

export type GemmKernel = GemmConfig['kernel'];

/** Lanes of a CPU driver's SIMD registers, when the adapter is one: llvmpipe names its vector width in bits
 * ("llvmpipe-llvm-15-0-6-256-bits-"); other CPU drivers (SwiftShader) report 0. */
export function cpuAdapterLanes(gpu: Pick<GpuDevice, 'adapter'>): number | null {
  const a = gpu.adapter;
  const text = `${a.vendor} ${a.architecture} ${a.device} ${a.description}`.toLowerCase();
  if (!/llvmpipe|lavapipe|swiftshader|softpipe|software/.test(text)) return null;
  const bits = /(\d+)-bits/.exec(text);
  return bits ? Number(bits[1]) / 32 : 0;
}

/** Which kernel suits this adapter (see the top of this file). */
export function gemmKernel(gpu: Pick<GpuDevice, 'adapter' | 'device'>): GemmKernel {
  const lanes = cpuAdapterLanes(gpu);
  if (lanes === null) return 'tiled';
  return gpu.device.features.has('subgroups') && [4, 8, 16].includes(lanes) ? 'subgroup' : 'direct';
}

/** Tile sizes for a problem: big tiles when there are enough of them to fill a GPU, smaller ones for small or
 * skinny outputs so that the grid keeps some parallelism and few threads compute padding. */
export function gemmConfig(gpu: Pick<GpuDevice, 'adapter' | 'device'>, M: number, N: number): GemmConfig {
  const kernel = gemmKernel(gpu);
  if (kernel === 'subgroup') {
    const lanes = cpuAdapterLanes(gpu)!;
    const cols = N <= lanes ? 1 : N <= 2 * lanes ? 2 : 4;
    const rowGroups = Math.max(1, Math.min(Math.ceil(M / lanes), Math.floor(16 / lanes) || 1));
    return { kernel, lanes, rowGroups, cols };
  }
  if (kernel === 'direct') {
    const vecs = M >= 64 && N >= 64 ? 2 : 1;
    return { kernel, wgX: 8, wgY: 8, rowVecs: vecs, colVecs: vecs, tileK: 4 };
  }
  const tiles = (t: number) => Math.ceil(M / t) * Math.ceil(N / t);
  const slabBytes = (c: { wgX: number; wgY: number; rowVecs: number; colVecs: number; tileK: number }) =>
    c.tileK * (4 * c.rowVecs * c.wgY + 4 + 4 * c.colVecs * c.wgX + 4) * 4;
  const big = { kernel, wgX: 16, wgY: 16, rowVecs: 2, colVecs: 2, tileK: 8 } as const; // 128×128, 8×8 per thread
  const medium = { kernel, wgX: 16, wgY: 16, rowVecs: 1, colVecs: 1, tileK: 16 } as const; // 64×64, 4×4
  const small = { kernel, wgX: 8, wgY: 8, rowVecs: 1, colVecs: 1, tileK: 16 } as const; // 32×32, 4×4
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
  const flags = {
    TRANS_A: o.transA ? 1 : 0,
    TRANS_B: o.transB ? 1 : 0,
    HAS_BIAS: o.bias ? 1 : 0,
    RELU: o.activation === 'relu' ? 1 : 0,
  };
  let tileM: number;
  let tileN: number;
  let launch: { shader: string; entryPoint: string; constants: Record<string, number> };
  if (cfg.kernel === 'subgroup') {
    tileM = cfg.rowGroups * cfg.lanes;
    tileN = cfg.cols * cfg.lanes;
    launch = {
      shader: subgroupShader,
      entryPoint: 'gemm_subgroup',
      constants: { LANES: cfg.lanes, ROW_GROUPS: cfg.rowGroups, COLS: cfg.cols, ...flags },
    };
  } else {
    tileM = 4 * cfg.rowVecs * cfg.wgY;
    tileN = 4 * cfg.colVecs * cfg.wgX;
    const tiles = { WG_X: cfg.wgX, WG_Y: cfg.wgY, ROW_VECS: cfg.rowVecs, COL_VECS: cfg.colVecs };
    launch =
      cfg.kernel === 'tiled'
        ? { shader: tiledShader, entryPoint: 'gemm_tiled', constants: { ...tiles, TILE_K: cfg.tileK, ...flags } }
        : { shader: tiledShader, entryPoint: 'gemm_direct', constants: { ...tiles, ...flags } };
  }
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
    ...launch,
    params: new Params().u32(M, N, K),
    // Without a bias, A stands in at binding 3 (read-only twice is allowed); the shader never reads it.
    buffers: [ga, gb, o.bias ? gpuStorage(o.bias).buffer : ga, out.buffer],
    workgroups: [colTiles, y, z],
  });
  return out;
}

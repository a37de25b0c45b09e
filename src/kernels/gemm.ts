// The GEMM family: one kernel, C[M,N] = op(A)·op(B) (+ bias[N] broadcast over rows) (then relu), that serves
// matmul, linear (x·Wᵀ + b through transB) and all their backward passes through the transpose flags:
//   forward   C  = op(A)·op(B) + bias
//   backward  dA = dC·op(B)ᵀ      (stored [K,M] when transA: op(B)·dCᵀ)
//             dB = op(A)ᵀ·dC      (stored [N,K] when transB: dCᵀ·op(A))
//             dbias = Σ_rows dC   (sumTo, elementwise family)
// Layout: row-major float32. A is [M,K] ([K,M] when transA), B is [K,N] ([N,K] when transB), bias [N], C [M,N].
// Any M, N, K >= 1 (no multiple-of-tile assumptions); C is a new storage.
//
// Two variants of shaders/gemm.wgsl, chosen per adapter (gemmVariant): on GPUs, workgroup tiles staged in
// workgroup memory with 8×8 (or 4×4 for small problems) register blocks per thread; on CPU drivers (lavapipe,
// SwiftShader), where barriers and workgroup memory are slow, each thread reads A and B directly and computes a
// register block. Tile sizes are override constants, so a config can be tuned per adapter without editing WGSL.

import type { GemmOptions, Storage } from '../engine/backend.js';
import type { AdapterDescription } from '../engine/device.js';
import type { GpuRuntime } from '../engine/runtime.js';
import { Params } from '../engine/runtime.js';
import shader from '../../shaders/gemm.wgsl';
import { allocate, gpuStorage, type GpuStorage } from './storage.js';

/** One launch configuration of shaders/gemm.wgsl (its override constants). */
export interface GemmConfig {
  entryPoint: 'gemm_tiled' | 'gemm_direct' | 'gemm_rows';
  rows?: number;
  cols?: number;
  /** Threads per workgroup along N and along M. */
  wgX: number;
  wgY: number;
  /** vec4 pieces of C per thread along M and N (1 or 2): a (4·rowVecs) × (4·colVecs) register block. */
  rowVecs: number;
  colVecs: number;
  /** Depth of the workgroup-memory slabs (gemm_tiled only), a multiple of 4. */
  tileK: number;
}

export type GemmVariant = 'tiled' | 'direct';

/** CPU Vulkan drivers run workgroup barriers as coroutine switches; caches serve the direct kernel better. */
export function isCpuAdapter(adapter: AdapterDescription | undefined): boolean {
  if (!adapter) return false;
  const text = `${adapter.vendor} ${adapter.architecture} ${adapter.device} ${adapter.description}`.toLowerCase();
  return /llvmpipe|lavapipe|swiftshader|softpipe|\bmesa\b.*\bsoftware\b|^mesa\b|software/.test(text);
}

export function gemmVariant(adapter: AdapterDescription | undefined): GemmVariant {
  return isCpuAdapter(adapter) ? 'direct' : 'tiled';
}

/** Picks tile sizes for a problem: big tiles when there are enough of them to fill a GPU, smaller ones for
 * small or skinny outputs so that the grid still has some parallelism and few threads idle. */
export function gemmConfig(variant: GemmVariant, M: number, N: number, maxWorkgroupBytes = 16384): GemmConfig {
  if (variant === 'direct') {
    // Measured on lavapipe (see README): 64 threads with 4×4 blocks each.
    return { entryPoint: 'gemm_direct', wgX: 8, wgY: 8, rowVecs: 1, colVecs: 1, tileK: 4 };
  }
  const tiles = (t: number) => Math.ceil(M / t) * Math.ceil(N / t);
  const slabBytes = (c: GemmConfig) => c.tileK * (4 * c.rowVecs * c.wgY + 4 + 4 * c.colVecs * c.wgX + 4) * 4;
  const big: GemmConfig = { entryPoint: 'gemm_tiled', wgX: 16, wgY: 16, rowVecs: 2, colVecs: 2, tileK: 8 }; // 128×128
  const medium: GemmConfig = { entryPoint: 'gemm_tiled', wgX: 16, wgY: 16, rowVecs: 1, colVecs: 1, tileK: 16 }; // 64×64
  const small: GemmConfig = { entryPoint: 'gemm_tiled', wgX: 8, wgY: 8, rowVecs: 1, colVecs: 1, tileK: 16 }; // 32×32
  if (tiles(128) >= 128 && slabBytes(big) <= maxWorkgroupBytes) return big;
  if (tiles(64) >= 32 && slabBytes(medium) <= maxWorkgroupBytes) return medium;
  return small;
}

export function gemm(rt: GpuRuntime, a: Storage, b: Storage, o: GemmOptions): GpuStorage {
  const cfg = gemmConfig(gemmVariant(rt.gpu.adapter), o.M, o.N, rt.device.limits.maxComputeWorkgroupStorageSize);
  return gemmWithConfig(rt, a, b, o, cfg);
}

/** gemm with explicit tile sizes (for tuning and benchmarks). */
export function gemmWithConfig(rt: GpuRuntime, a: Storage, b: Storage, o: GemmOptions, cfg: GemmConfig): GpuStorage {
  const { M, N, K } = o;
  const out = allocate(rt, M * N, 'gemm.out');
  if (M === 0 || N === 0) return out;
  const rowsMode = cfg.entryPoint === 'gemm_rows';
  const tileM = rowsMode ? cfg.rows! : 4 * cfg.rowVecs * cfg.wgY;
  const tileN = rowsMode ? cfg.cols! * cfg.wgX : 4 * cfg.colVecs * cfg.wgX;
  const colTiles = Math.ceil(N / tileN);
  const rowTiles = Math.ceil(M / tileM);
  // Fold the row tiles into (y, z) past the per-dimension limit; the shader recovers y + z·nwg.y.
  const z = Math.ceil(rowTiles / 65535);
  const y = Math.ceil(rowTiles / z);
  if (colTiles > 65535) throw new Error(`gemm: N=${N} needs ${colTiles} column workgroups, over the 65535 limit`);
  const ga = gpuStorage(a).buffer;
  const gb = gpuStorage(b).buffer;
  rt.dispatch({
    kernel: 'gemm',
    shapes: `A[${o.transA ? `${K},${M}` : `${M},${K}`}]${o.transA ? 'ᵀ' : ''} B[${o.transB ? `${N},${K}` : `${K},${N}`}]${o.transB ? 'ᵀ' : ''}${o.bias ? ' +bias' : ''}${o.activation ? ` ${o.activation}` : ''}`,
    shader,
    entryPoint: cfg.entryPoint,
    constants: rowsMode ? { WG_X: cfg.wgX, ROWS: cfg.rows!, COLS: cfg.cols!, TRANS_A: o.transA ? 1 : 0, TRANS_B: o.transB ? 1 : 0, HAS_BIAS: o.bias ? 1 : 0, RELU: o.activation === 'relu' ? 1 : 0 } : {
      WG_X: cfg.wgX,
      WG_Y: cfg.wgY,
      ROW_VECS: cfg.rowVecs,
      COL_VECS: cfg.colVecs,
      TILE_K: cfg.tileK,
      TRANS_A: o.transA ? 1 : 0,
      TRANS_B: o.transB ? 1 : 0,
      HAS_BIAS: o.bias ? 1 : 0,
      RELU: o.activation === 'relu' ? 1 : 0,
    },
    params: new Params().u32(M, N, K),
    // Without a bias, A stands in at binding 3 (read-only twice is allowed); the shader never reads it.
    buffers: [ga, gb, o.bias ? gpuStorage(o.bias).buffer : ga, out.buffer],
    workgroups: [colTiles, y, z],
  });
  return out;
}

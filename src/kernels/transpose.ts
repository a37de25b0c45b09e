// A matrix transpose on WebGPU (shaders/transpose.wgsl): the GEMM's `transposeFirst` lays out an operand that it
// would read along k along its side instead (./gemm.ts).

import { Params } from '../gpu/params.js';
import { tileGrid, type GpuRuntime } from '../gpu/runtime.js';
import { allocate, gpuStorage, type GpuStorage } from '../gpu/storage.js';
import type { Storage } from './backend.js';
import tileGridReadBack from '../../shaders/tile-grid.wgsl';
import transposeKernel from '../../shaders/transpose.wgsl';

// WGSL has no includes: the read-back of tileGrid's fold is prepended.
const shader = tileGridReadBack + transposeKernel;

const TILE = 32;

/** x, a row-major rows × cols matrix, as the row-major cols × rows matrix xᵀ. `what` names x in errors. */
export function transposeGpu(rt: GpuRuntime, x: Storage, rows: number, cols: number, what: string): GpuStorage {
  if (x.length !== rows * cols) throw new Error(`transpose: ${what} holds ${x.length} values, not ${rows}×${cols}`);
  const out = allocate(rt, rows * cols, 'transpose.out');
  if (rows === 0 || cols === 0) return out;
  rt.dispatch({
    kernel: 'transpose',
    shapes: `${what} [${rows}, ${cols}]`,
    shader,
    entryPoint: 'transpose',
    params: new Params().u32(rows, cols),
    buffers: [gpuStorage(x).binding, out.binding],
    workgroups: tileGrid(Math.ceil(rows / TILE), Math.ceil(cols / TILE)),
  });
  return out;
}

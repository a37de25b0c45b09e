// 1-D max and average pooling on the WebGPU backend (torch.nn.functional.max_pool1d / avg_pool1d, floor
// mode). Layout: x [N,C,L] row-major, treated as rows = N·C independent rows of length L;
// y [N,C,Lout] with Lout = floor((L + 2·padding − kernelSize)/stride) + 1. Window j of a row covers positions
// j·stride − padding + [0, kernelSize); padding is −inf for max and zero for average, and average always
// divides by kernelSize (count_include_pad). ops.ts validates the parameters (padding ≤ kernelSize/2, so no
// window lies entirely in the padding).
// Forward: one thread per few consecutive outputs. Backward: one thread per few consecutive inputs, looping
// over the windows that contain each (no atomics, deterministic); max recomputes each window's first maximum
// from x (torch's CPU tie rule) instead of keeping an index buffer.

import type { Pool1dParams, Storage } from '../engine/backend.js';
import { grid1d, Params, type GpuRuntime } from '../engine/runtime.js';
import backwardShader from '../../shaders/pool1d-backward.wgsl';
import forwardShader from '../../shaders/pool1d-forward.wgsl';
import { allocate, gpuStorage } from './storage.js';

const WORKGROUP_SIZE = 64;
const OUTPUTS_PER_THREAD = 4;
const INPUTS_PER_THREAD = 4;

function outputLength(L: number, p: Pool1dParams): number {
  return Math.floor((L + 2 * p.padding - p.kernelSize) / p.stride) + 1;
}

function describe(xShape: number[], p: Pool1dParams): string {
  return `x[${xShape.join(',')}] k${p.kernelSize} s${p.stride} p${p.padding}`;
}

/** The uniform shared by all four entry points; `total` is the number of elements the threads cover. */
function poolParams(rows: number, L: number, Lout: number, p: Pool1dParams, total: number): Params {
  return new Params().u32(rows, L, Lout, p.kernelSize, p.stride, p.padding, total);
}

function forward(rt: GpuRuntime, kind: 'maxPool1d' | 'avgPool1d', x: Storage, xShape: number[], p: Pool1dParams): Storage {
  const [N, C, L] = xShape;
  const rows = N * C;
  const Lout = outputLength(L, p);
  const y = allocate(rt, rows * Lout, kind);
  rt.dispatch({
    kernel: `pool1d.${kind}`,
    shapes: describe(xShape, p),
    shader: forwardShader,
    entryPoint: kind,
    constants: { WORKGROUP_SIZE, OUTPUTS_PER_THREAD },
    params: poolParams(rows, L, Lout, p, rows * Lout),
    buffers: [gpuStorage(x).buffer, y.buffer],
    workgroups: grid1d(Math.ceil((rows * Lout) / OUTPUTS_PER_THREAD), WORKGROUP_SIZE),
  });
  return y;
}

function backward(rt: GpuRuntime, kind: 'maxPool1dBackward' | 'avgPool1dBackward', inputs: Storage[], xShape: number[], p: Pool1dParams): Storage {
  const [N, C, L] = xShape;
  const rows = N * C;
  const dx = allocate(rt, rows * L, kind);
  rt.dispatch({
    kernel: `pool1d.${kind}`,
    shapes: describe(xShape, p),
    shader: backwardShader,
    entryPoint: kind,
    constants: { WORKGROUP_SIZE, INPUTS_PER_THREAD },
    params: poolParams(rows, L, outputLength(L, p), p, rows * L),
    buffers: [...inputs.map((s) => gpuStorage(s).buffer), dx.buffer],
    workgroups: grid1d(Math.ceil((rows * L) / INPUTS_PER_THREAD), WORKGROUP_SIZE),
  });
  return dx;
}

export function maxPool1d(rt: GpuRuntime, x: Storage, xShape: number[], p: Pool1dParams): Storage {
  return forward(rt, 'maxPool1d', x, xShape, p);
}

/** dx: each window's dy goes to its first maximum, recomputed from x. */
export function maxPool1dBackward(rt: GpuRuntime, x: Storage, dy: Storage, xShape: number[], p: Pool1dParams): Storage {
  return backward(rt, 'maxPool1dBackward', [x, dy], xShape, p);
}

export function avgPool1d(rt: GpuRuntime, x: Storage, xShape: number[], p: Pool1dParams): Storage {
  return forward(rt, 'avgPool1d', x, xShape, p);
}

/** dx: every position of a window receives dy/kernelSize. */
export function avgPool1dBackward(rt: GpuRuntime, dy: Storage, xShape: number[], p: Pool1dParams): Storage {
  return backward(rt, 'avgPool1dBackward', [dy], xShape, p);
}

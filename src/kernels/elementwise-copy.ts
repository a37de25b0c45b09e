// Concatenation and slicing on WebGPU, the elementwise family's block copies between row-major views
// (shaders/elementwise-copy.wgsl), with their CPU references (./cpu/elementwise.ts) at the end. A tensor
// [outer, ..., axis, ..., inner] is a matrix [outer, shape[axis]·inner]: concat and slice along axis move column
// blocks of it. concat takes its inputs two at a time, so the model's concatenations of two are one dispatch.
// concat and slice are each other's adjoint.

import { Params } from '../gpu/params.js';
import type { GpuRuntime } from '../gpu/runtime.js';
import { allocate, GpuStorage, gpuStorage } from '../gpu/storage.js';
import { defineKernel, type Storage } from './backend.js';
import * as ref from './cpu/elementwise.js';
import { product, rowTiling, vec4Buffers } from './elementwise.js';
import copyShader from '../../shaders/elementwise-copy.wgsl';

/** dst[r·dstStride + dstOffset + c] = src[r·srcStride + srcOffset + c] for r < rows, c < cols. */
function copyBlock(rt: GpuRuntime, src: GpuStorage, dst: GpuStorage, rows: number, cols: number, srcStride: number, srcOffset: number, dstStride: number, dstOffset: number, shapes: string): void {
  if (rows === 0 || cols === 0) return;
  const vec4 = [cols, srcStride, srcOffset, dstStride, dstOffset].every((v) => v % 4 === 0);
  const unit = vec4 ? 4 : 1;
  const tiling = rowTiling(rows, cols / unit);
  rt.dispatch({
    kernel: 'elementwise.copyBlock',
    shapes,
    shader: copyShader,
    entryPoint: vec4 ? 'copyRowsVec4' : 'copyRows',
    constants: tiling.constants,
    params: new Params().u32(rows, cols / unit, srcStride / unit, srcOffset / unit, dstStride / unit, dstOffset / unit, tiling.blocksPerRow),
    buffers: vec4 ? vec4Buffers('copyBlock', [src, dst]) : [src.binding, dst.binding],
    workgroups: tiling.workgroups,
  });
}

/** Two inputs' rows [rows, cols0] and [rows, cols1] side by side into columns [dstOffset, +cols0+cols1) of dst. */
function concatPair(rt: GpuRuntime, a: GpuStorage, b: GpuStorage, dst: GpuStorage, rows: number, cols0: number, cols1: number, dstStride: number, dstOffset: number, shapes: string): void {
  if (rows === 0 || cols0 + cols1 === 0) return;
  const tiling = rowTiling(rows, cols0 + cols1);
  rt.dispatch({
    kernel: 'elementwise.concatPair',
    shapes,
    shader: copyShader,
    entryPoint: 'concatPair',
    constants: tiling.constants,
    params: new Params().u32(rows, cols0, cols1, dstStride, dstOffset, tiling.blocksPerRow),
    buffers: [a.binding, dst.binding, b.binding],
    workgroups: tiling.workgroups,
  });
}

/** Concatenation along axis: each input [outer, shape[axis]·inner] fills its column block of the output, two
 * inputs a dispatch. */
function concatGpu(rt: GpuRuntime, inputs: Storage[], shapes: number[][], axis: number): Storage {
  const outer = product(shapes[0].slice(0, axis));
  const inner = product(shapes[0].slice(axis + 1));
  const rowLengths = shapes.map((s) => s[axis] * inner);
  const outRow = rowLengths.reduce((a, b) => a + b, 0);
  const out = allocate(rt, outer * outRow, 'concat');
  let column = 0;
  for (let k = 0; k < inputs.length; k += 2) {
    const what = (i: number) => `input ${i} [${shapes[i]}]`;
    if (k + 1 < inputs.length) {
      const [a, b] = [rowLengths[k], rowLengths[k + 1]];
      concatPair(rt, gpuStorage(inputs[k]), gpuStorage(inputs[k + 1]), out, outer, a, b, outRow, column, `${what(k)} ${what(k + 1)} along axis ${axis}`);
      column += a + b;
    } else {
      const row = rowLengths[k];
      copyBlock(rt, gpuStorage(inputs[k]), out, outer, row, row, 0, outRow, column, `${what(k)} along axis ${axis}`);
      column += row;
    }
  }
  return out;
}

/** x[..., start : start+length, ...] along axis: concat's backward. */
function sliceGpu(rt: GpuRuntime, x: Storage, shape: number[], axis: number, start: number, length: number): Storage {
  const outer = product(shape.slice(0, axis));
  const inner = product(shape.slice(axis + 1));
  const out = allocate(rt, outer * length * inner, 'slice');
  copyBlock(rt, gpuStorage(x), out, outer, length * inner, shape[axis] * inner, start * inner, length * inner, 0, `x[${shape}] axis ${axis} [${start}, ${start + length})`);
  return out;
}

// ------------------------------------------------------------------------------------------ the kernels
// Each on the GPU (above) and on the CPU (the reference).

export const concat = defineKernel(concatGpu, (c, inputs, shapes, axis) => c.out(ref.concat(inputs.map((s) => c.data(s)), shapes, axis)));
export const slice = defineKernel(sliceGpu, (c, x, shape, axis, start, length) => c.out(ref.slice(c.data(x), shape, axis, start, length)));

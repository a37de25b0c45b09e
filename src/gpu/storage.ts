// A tensor's memory on the WebGPU backend: a pooled GPU buffer holding `length` float32 (or int32) values.

import type { GpuRuntime } from './runtime.js';

export class GpuStorage {
  constructor(
    readonly buffer: GPUBuffer,
    readonly length: number,
  ) {}
}

/** A new, uninitialised output of `length` 4-byte elements. */
export function allocate(rt: GpuRuntime, length: number, label: string): GpuStorage {
  return new GpuStorage(rt.allocate(length * 4, label), length);
}

export function gpuStorage(s: { readonly length: number }): GpuStorage {
  if (!(s instanceof GpuStorage)) throw new Error('a CPU tensor was passed to a WebGPU kernel: tensors of different backends cannot be mixed');
  return s;
}

/** Zeroed inputs of the given lengths, for timing a kernel on a problem's shapes (tuning). */
export function zeros(rt: GpuRuntime, lengths: number[], label: string): GpuStorage[] {
  return lengths.map((length) => {
    const s = allocate(rt, Math.max(1, length), label);
    rt.clear(s.buffer, s.length * 4);
    return s;
  });
}

// A tensor's memory on the CPU backend: a Float32Array (Int32Array for class targets).

import type { Storage } from '../backend.js';

export class CpuStorage implements Storage {
  constructor(readonly data: Float32Array | Int32Array) {}
  get length(): number {
    return this.data.length;
  }
}

export function cpuData(s: Storage): Float32Array | Int32Array {
  if (!(s instanceof CpuStorage)) throw new Error('a WebGPU tensor was passed to a CPU kernel: tensors of different backends cannot be mixed');
  return s.data;
}

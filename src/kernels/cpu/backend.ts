// The CPU backend (`init({ backend: 'cpu' })`): memory as Float32Arrays (Int32Array for class targets), on which
// the kernels run their CPU reference (see defineKernel in ../backend.ts). Storage is float32 like the GPU's;
// the references accumulate in float64.

import type { Backend, Storage } from '../backend.js';

export class CpuStorage implements Storage {
  constructor(readonly data: Float32Array | Int32Array) {}
  get length(): number {
    return this.data.length;
  }
}

export class CpuBackend implements Backend {
  readonly name = 'cpu' as const;
  private live = 0;
  private liveBytes = 0;

  upload(data: Float32Array): Storage { return this.track(new CpuStorage(Float32Array.from(data))); }
  uploadIndices(data: Int32Array): Storage { return this.track(new CpuStorage(Int32Array.from(data))); }
  zeros(length: number): Storage { return this.track(new CpuStorage(new Float32Array(length))); }
  async download(s: Storage): Promise<Float32Array> { return Float32Array.from(this.data(s)); }
  write(s: Storage, data: Float32Array): void { this.data(s).set(data); }
  release(s: Storage): void {
    this.live--;
    this.liveBytes -= s.length * 4;
  }
  readonly viewAlignment = 1;
  view(base: Storage, offset: number, length: number): Storage {
    const data = this.data(base);
    if (offset < 0 || offset + length > data.length) throw new Error(`a view of ${length} values at ${offset} is outside its base of ${data.length}`);
    return new CpuStorage(data.subarray(offset, offset + length));
  }
  counters() { return { liveBuffers: this.live, liveBytes: this.liveBytes, allocatedBuffers: this.live, allocatedBytes: this.liveBytes }; }
  flush(): void {}
  /** Nothing pooled: released arrays are the garbage collector's. */
  trim(): void {}

  /** The values of s (for a kernel's reference). */
  data(s: Storage): Float32Array | Int32Array {
    if (!(s instanceof CpuStorage)) throw new Error('a WebGPU tensor was passed to a CPU kernel: tensors of different backends cannot be mixed');
    return s.data;
  }
  /** A new storage holding a reference's result (as float32). */
  out(data: ArrayLike<number>): Storage {
    return this.track(new CpuStorage(Float32Array.from(data)));
  }
  private track(s: CpuStorage): Storage {
    this.live++;
    this.liveBytes += s.length * 4;
    return s;
  }
}

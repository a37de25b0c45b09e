// Where tensors live: a Backend is memory and transfer only (upload, download, release, counters). The
// operations are the kernel families of this folder: each defines every kernel once, its GPU implementation
// and its CPU reference side by side (`defineKernel`), and a kernel called with a backend runs the one that
// backend has. All tensors are dense, row-major float32; shapes are validated by src/engine/ops.ts before any
// kernel is called, so kernels may assume them consistent.

import type { GpuRuntime } from '../gpu/runtime.js';
import { GpuStorage, gpuStorage } from '../gpu/storage.js';
import type { CpuBackend } from './cpu/backend.js';

export interface Storage {
  /** Number of float32 elements. */
  readonly length: number;
}

export interface Backend {
  readonly name: 'webgpu' | 'cpu';
  /** `constant`: the same data whenever the calling code runs, which a recorded step may keep (GpuRuntime.upload). */
  upload(data: Float32Array, label?: string, constant?: boolean): Storage;
  uploadIndices(data: Int32Array, label?: string): Storage;
  zeros(length: number, label?: string): Storage;
  download(s: Storage): Promise<Float32Array>;
  /** Overwrites s with data (same length), in order with the work queued before. */
  write(s: Storage, data: Float32Array): void;
  release(s: Storage): void;
  /** `length` values of `base` from element `offset` on, sharing its memory (Tensor.rebase); the offset must be
   * a multiple of `viewAlignment` elements. A view is never released itself: its base is. */
  view(base: Storage, offset: number, length: number): Storage;
  readonly viewAlignment: number;
  /** Live storage counters (for leak tests and the pool's statistics). */
  counters(): { liveBuffers: number; liveBytes: number; allocatedBuffers: number; allocatedBytes: number };
  /** Gives back the memory kept for reuse (GPU: the pooled buffers no tensor holds, which the pool otherwise keeps
   * for good); tensors keep theirs. For long-lived embedders after a large one-off computation; no-op on the CPU. */
  trim(): void;
  /** Submits queued work (no-op on the CPU). */
  flush(): void;
}

/** A kernel: runs `gpu` on the WebGPU backend's runtime, `cpu` (the reference) on the CPU backend. Where `gpu`
 * throws (a dispatch the runtime refuses, a scratch buffer past the binding limit), the buffers it acquired and
 * still holds are released: its outputs reach no tensor, and had stayed live for good (matmul's output when its
 * grid was refused, before a296909). */
export function defineKernel<A extends unknown[], R>(gpu: (rt: GpuRuntime, ...args: A) => R, cpu: (c: CpuBackend, ...args: A) => R): (backend: Backend, ...args: A) => R {
  return (backend, ...args) => {
    if (!(backend instanceof WebGpuBackend)) return cpu(backend as CpuBackend, ...args);
    const mark = backend.rt.storage.mark();
    try {
      return gpu(backend.rt, ...args);
    } catch (e) {
      backend.rt.storage.releaseSince(mark);
      throw e;
    }
  };
}

/** Memory on the GPU runtime's pooled buffers. */
export class WebGpuBackend implements Backend {
  readonly name = 'webgpu' as const;
  /** The device's alignment of storage-binding offsets (256 bytes by default), in elements. */
  readonly viewAlignment: number;
  constructor(readonly rt: GpuRuntime) {
    this.viewAlignment = Math.max(4, rt.device.limits.minStorageBufferOffsetAlignment / 4);
  }

  upload(data: Float32Array, label = 'tensor', constant = false): Storage {
    return GpuStorage.of(this.rt.upload(data, label, constant), data.length);
  }
  uploadIndices(data: Int32Array, label = 'indices'): Storage {
    return GpuStorage.of(this.rt.upload(data, label), data.length);
  }
  zeros(length: number, label = 'zeros'): Storage {
    const s = GpuStorage.of(this.rt.allocate(length * 4, label), length);
    this.rt.clear(s.buffer, length * 4);
    return s;
  }
  async download(s: Storage): Promise<Float32Array> {
    const g = gpuStorage(s);
    return new Float32Array(await this.rt.read(g.buffer, g.length * 4, g.byteOffset));
  }
  write(s: Storage, data: Float32Array): void {
    const g = gpuStorage(s);
    this.rt.write(g.buffer, g.byteOffset, data);
  }
  release(s: Storage): void {
    const g = gpuStorage(s);
    // A view's buffer belongs to its base, released with it (see Tensor's blocks).
    if (g.isView) throw new Error(`a view of buffer "${g.buffer.label}" was released as if it owned the buffer`);
    this.rt.release(g.buffer);
  }
  view(base: Storage, offset: number, length: number): Storage {
    return GpuStorage.view(gpuStorage(base), offset, length, this.viewAlignment * 4);
  }
  counters() {
    return this.rt.counters();
  }
  trim(): void {
    this.rt.trim();
  }
  flush(): void {
    this.rt.flush();
  }
}

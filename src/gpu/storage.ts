// A tensor's memory on the WebGPU backend: `length` float32 (or int32) values in a pooled GPU buffer, or a view
// of a range of another storage's buffer (the optimiser's parameters live in its flat vector this way).

import type { GpuRuntime } from './runtime.js';

/** Bytes of the whole vec4s that hold `length` 4-byte values (the elementwise kernels read and write vec4s). */
export const vec4Bytes = (length: number) => Math.ceil(length / 4) * 16;

/** What a kernel binds: a whole buffer, or a range of one (made once per view: the binding cache keys by identity). */
export type Binding = GPUBuffer | GPUBufferBinding;

export class GpuStorage {
  readonly binding: Binding;
  private constructor(
    /** The buffer holding the values, from `byteOffset` on: a view's is shared, not its own to release. */
    readonly buffer: GPUBuffer,
    readonly length: number,
    readonly byteOffset: number,
    readonly isView: boolean,
  ) {
    // A view binds whole vec4s (the elementwise kernels read them), so its range must leave room for them.
    this.binding = isView ? { buffer, offset: byteOffset, size: vec4Bytes(length) } : buffer;
  }

  /** The storage of a whole (pooled) buffer. */
  static of(buffer: GPUBuffer, length: number): GpuStorage {
    return new GpuStorage(buffer, length, 0, false);
  }

  /** `length` values of `base` from element `offset` on: the offset's bytes must be a multiple of the device's
   * minStorageBufferOffsetAlignment, and the range must hold whole vec4s within the buffer. */
  static view(base: GpuStorage, offset: number, length: number, alignment: number): GpuStorage {
    const byteOffset = base.byteOffset + offset * 4;
    const end = byteOffset + vec4Bytes(length);
    if (byteOffset % alignment !== 0) throw new Error(`a view at byte ${byteOffset} of buffer "${base.buffer.label}" is not aligned to ${alignment} bytes`);
    if (offset < 0 || end > base.byteOffset + vec4Bytes(base.length)) {
      throw new Error(`a view of ${length} values at ${offset} is outside its base of ${base.length} (buffer "${base.buffer.label}")`);
    }
    return new GpuStorage(base.buffer, length, byteOffset, true);
  }
}

/** A new, uninitialised output of `length` 4-byte elements. */
export function allocate(rt: GpuRuntime, length: number, label: string): GpuStorage {
  return GpuStorage.of(rt.allocate(length * 4, label), length);
}

export function gpuStorage(s: { readonly length: number }): GpuStorage {
  if (!(s instanceof GpuStorage)) throw new Error('a CPU tensor was passed to a WebGPU kernel: tensors of different backends cannot be mixed');
  return s;
}

/** Inputs of the given lengths for timing a kernel on a problem's shapes (tuning), holding values spread over
 * [-1, 1) rather than zeros: a GPU runs some kernels faster on zeros than on real data (less power drawn, memory
 * traffic that compresses; on an H200 here a bf16 matrix product ran 13 % faster), so a choice timed on zeros
 * can lose on real data. The values are the same in every run (an xorshift stream from a fixed seed; not the
 * engine's seededRandom, which src/gpu sits below, and no seed of a user's names this stream), and every input
 * is a prefix of one stream. */
export function trialInputs(rt: GpuRuntime, lengths: number[], label: string): GpuStorage[] {
  const values = trialValues(Math.max(1, ...lengths));
  return lengths.map((length) => {
    const n = Math.max(1, length);
    return GpuStorage.of(rt.upload(values.subarray(0, n), label, true), n);
  });
}

function trialValues(length: number): Float32Array {
  const values = new Float32Array(length);
  let x = 0x2545f491;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    values[i] = (x >>> 0) / 2147483648 - 1;
  }
  return values;
}

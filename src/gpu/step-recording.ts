// A training step's commands, recorded once and replayed (GpuRuntime.beginRecording, endRecording and replay; the
// engine's CapturedStep drives them), as a CUDA graph replays a captured stream: a replay encodes the recorded
// dispatches, copies and clears again with their pipelines and bind groups, and writes only what changes per step, so
// that none of the step's JavaScript (autograd, tensors, kernel choice, caches) runs again. What changes per step:
// - the step's inputs: each upload the recorded step made from one of its input arrays is a slot, written from the
//   same input at every replay (an upload of anything else is refused while recording, it would be replayed stale,
//   unless marked constant: the backward pass's seed of ones);
// - per-step uniforms (a KernelCall whose params are a function: Adam's bias corrections, dropout's seed): each
//   gets a buffer of its own, written with the function's value again at every replay.
// Every storage buffer released while recording (the step's intermediates, its gradients) is kept by the recording
// rather than pooled again, so that nothing else is handed a buffer that a replay writes; the buffers the step
// binds and did not release (parameters, optimiser state, the output) must stay where they are: a replay checks
// that each is still held, by the same acquisition, and throws if one was freed (its tensor disposed).

import type { Params } from './params.js';
import { GpuError } from './gpu-error.js';
import type { KernelCall } from './runtime.js';

/** The storage pool's count of acquisitions at which it handed a buffer out, while it is held
 * (BufferPool.acquisition). */
type Acquisition = (buffer: GPUBuffer) => number | undefined;

export type RecordedCommand =
  | { kind: 'dispatch'; call: KernelCall; pipeline: GPUComputePipeline; bindGroup: GPUBindGroup }
  | { kind: 'copy'; src: GPUBuffer; dst: GPUBuffer; bytes: number; srcOffset: number; dstOffset: number }
  | { kind: 'clear'; buffer: GPUBuffer; bytes: number };

export class StepRecording {
  readonly commands: RecordedCommand[] = [];
  /** Uploads, by the index of the input whose bytes they hold. */
  readonly inputSlots: { buffer: GPUBuffer; input: number; bytes: number; label: string }[] = [];
  /** Per-step uniforms: each its own buffer, written with `params()` before each replay. */
  readonly uniforms: { buffer: GPUBuffer; params: () => Params }[] = [];
  /** Cached uniforms bound by the recorded dispatches: pinned in the binding cache while the recording lives. */
  readonly pinned = new Set<GPUBuffer>();
  /** Storage buffers released while recording, with the acquisition that held them (BufferPool.acquisition): the
   * recording's until it is disposed. */
  readonly kept = new Map<GPUBuffer, number>();
  /** Storage buffers bound by the recorded commands. */
  readonly bound = new Set<GPUBuffer>();
  /** The bound buffers the recording does not keep, each with the acquisition that held it when recording ended. */
  external: { buffer: GPUBuffer; acquired: number }[] = [];
  /** What the step did that a replay cannot repeat, refused where it happened and again when recording ends. */
  refusal: Error | null = null;
  disposed = false;

  constructor(
    readonly inputs: readonly ArrayBufferView[],
    /** The storage pool's count of acquisitions when the recording started (BufferPool.mark). */
    readonly startedAt: number,
    /** The tuner's revision it was recorded at: its kernels are those chosen then. */
    readonly tunerRevision: number,
  ) {}

  /** A buffer released while recording, held by `acquired` until then: kept rather than pooled again. */
  keep(buffer: GPUBuffer, acquired: number | undefined): void {
    if (acquired === undefined || this.kept.has(buffer)) throw new Error(`buffer "${buffer.label}" released twice or not from this pool`);
    this.kept.set(buffer, acquired);
  }

  /** Ends the recording: throws what the step did that a replay could not repeat, else notes each bound buffer it
   * does not keep with the acquisition that holds it now. */
  finish(acquisition: Acquisition): void {
    if (this.refusal) throw this.refusal;
    // Made before the step (acquired before it began) and freed by it.
    const stale = [...this.bound].find((buffer) => (this.kept.get(buffer) ?? Infinity) <= this.startedAt);
    if (stale) {
      throw new GpuError(`recording a step: it frees buffer "${stale.label}", made before the step and read by it: a replay would read the recorded values again (update state in place, as the optimiser and batch norm do)`);
    }
    for (const buffer of this.bound) {
      if (this.kept.has(buffer)) continue;
      const acquired = acquisition(buffer);
      if (acquired === undefined) throw new GpuError(`recording a step: it binds buffer "${buffer.label}", which nothing holds (a disposed tensor's?)`);
      this.external.push({ buffer, acquired });
    }
  }

  /** Throws if a replay with `inputs` would not run the recorded step: the recording disposed, an input of another
   * size, or a buffer it binds and does not keep freed since (held now by another acquisition, or by none). */
  checkReplay(inputs: readonly ArrayBufferView[], acquisition: Acquisition): void {
    if (this.disposed) throw new GpuError('replay: the recorded step was disposed');
    for (const { buffer, acquired } of this.external) {
      if (acquisition(buffer) !== acquired) {
        throw new GpuError(`replay: buffer "${buffer.label}", which the recorded step binds, was freed since it was recorded (a tensor the step uses, such as a parameter, was disposed): record the step again`);
      }
    }
    if (inputs.length !== this.inputs.length) throw new GpuError(`replay: ${inputs.length} inputs for a step recorded with ${this.inputs.length}`);
    for (const slot of this.inputSlots) {
      const bytes = inputs[slot.input].byteLength;
      if (bytes !== slot.bytes) throw new GpuError(`replay: input ${slot.input} ("${slot.label}") has ${bytes} bytes, ${slot.bytes} when the step was recorded: record a step of this shape`);
    }
  }

  /** Whether `inputs` are as many, and each of the size, as those recorded. */
  fits(inputs: readonly ArrayBufferView[]): boolean {
    return inputs.length === this.inputs.length && inputs.every((input, i) => input.byteLength === this.inputs[i].byteLength);
  }

  /** The input whose bytes an upload holds, by identity (the array itself, or a view of the same bytes). */
  inputOf(data: ArrayBufferView): number {
    return this.inputs.findIndex((input) => input === data || (input.buffer === data.buffer && input.byteOffset === data.byteOffset && input.byteLength === data.byteLength));
  }
}

/** A GPUBuffer of a binding (a whole buffer or a range of one). */
export function bufferOf(binding: GPUBuffer | GPUBufferBinding): GPUBuffer {
  return 'buffer' in binding ? binding.buffer : binding;
}

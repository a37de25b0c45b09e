// A training step run once and then replayed, as torch.cuda.CUDAGraph replays a captured step: the first run on the
// WebGPU backend runs the step and records its commands (src/gpu/step-recording.ts); each later run writes the new
// inputs and re-encodes those commands, with none of the step's JavaScript (autograd, tensors, kernel choice). On a
// training step of the default model that JavaScript was most of the host's time (see bench/host-split.ts).
//
// What a step may do, to be replayed exactly:
// - take what changes per step as its inputs (arrays uploaded by `tensor()` or a loss's targets): their uploads are
//   replayed from the new inputs; any other upload, a host write or a read-back is refused while recording;
// - update state in place (parameters, optimiser moments, batch-norm statistics all are);
// - read per-step values through the functions the kernels take for them (Adam's learning rate and step counts,
//   dropout's seed), which run again at each replay, and register with `onReplay` the host work a replay must
//   repeat (Adam's step counts).
// A replay runs the step as it was recorded: inputs of other sizes (a shorter last batch) run the step in full, a
// recording made before the tuner chose other kernels is made again, and what changes the step's code otherwise (a
// module switched to eval mode) needs `dispose()`, after which the next run records again. On the CPU backend
// nothing is recorded: each run runs the step.

import type { StepRecording } from '../gpu/step-recording.js';
import { GpuStorage, gpuStorage } from '../gpu/storage.js';
import { WebGpuBackend } from '../kernels/backend.js';
import { defaultBackend } from './context.js';
import { Tensor } from './tensor.js';

let replayHooks: (() => void)[] | null = null;
let enabled = true;

/** For code that a captured step runs: `hook` runs before each replay of the step being recorded, for host state
 * that the step's own code would have moved (an optimiser's step counts). Outside a recording, nothing. */
export function onReplay(hook: () => void): void {
  replayHooks?.push(hook);
}

/** Turns recording off (every run runs its step) or on: for comparing the two, which give the same results. */
export function setStepCapture(on: boolean): void {
  enabled = on;
}

export class CapturedStep<Inputs extends ArrayBufferView[]> {
  private recorded: { backend: WebGpuBackend; recording: StepRecording; output: Tensor; hooks: (() => void)[] } | null = null;

  /** `step` runs the whole step on tensors it makes from `inputs`, and returns one tensor (the loss). */
  constructor(private readonly step: (...inputs: Inputs) => Tensor) {}

  /** Runs the step on `inputs`: the first time (and after `dispose`) it runs and records it, then replays it.
   * Inputs of other sizes than the recorded ones (a shorter last batch) run the step unrecorded. Returns a copy of
   * the step's output, cut from any graph. */
  run(...inputs: Inputs): Tensor {
    const backend = defaultBackend();
    if (!enabled || !(backend instanceof WebGpuBackend)) return this.runInFull(...inputs);
    // Recorded afresh: a step of another device (init() after a loss), or one whose kernels were tuned since.
    if (this.recorded && (this.recorded.backend !== backend || !backend.rt.isCurrent(this.recorded.recording))) this.dispose();
    if (this.recorded && !this.recorded.recording.fits(inputs)) return this.runInFull(...inputs);
    if (!this.recorded) this.recorded = this.record(backend, inputs);
    else {
      const hooks = this.recorded.hooks;
      backend.rt.replay(this.recorded.recording, inputs, () => hooks.forEach((hook) => hook()));
    }
    const output = this.recorded.output;
    const source = gpuStorage(output.storage);
    const copy = GpuStorage.of(backend.rt.allocate(source.length * 4, 'captured step output'), source.length);
    backend.rt.copy(source.buffer, copy.buffer, source.length * 4, source.byteOffset, 0);
    backend.rt.flush();
    return new Tensor(copy, [...output.shape], backend);
  }

  /** Runs the step's own code on `inputs`, neither recorded nor replayed (a batch of another size than the one
   * to record). Returns its output cut from any graph, as `run` does. */
  runInFull(...inputs: Inputs): Tensor {
    return this.detached(this.step(...inputs));
  }

  /** Frees the recording (its intermediates go back to the pool); the next run records again. */
  dispose(): void {
    if (!this.recorded) return;
    const { backend, recording, output } = this.recorded;
    this.recorded = null;
    output.dispose();
    backend.rt.disposeRecording(recording);
  }

  private record(backend: WebGpuBackend, inputs: Inputs): NonNullable<CapturedStep<Inputs>['recorded']> {
    const rt = backend.rt;
    const hooks: (() => void)[] = [];
    let output: Tensor;
    rt.beginRecording(inputs);
    replayHooks = hooks;
    try {
      // The output's graph is let go while recording, so that its intermediates stay the recording's.
      output = this.detached(this.step(...inputs)).keep();
    } catch (e) {
      rt.abandonRecording();
      throw e;
    } finally {
      replayHooks = null;
    }
    try {
      return { backend, recording: rt.endRecording(), output, hooks };
    } catch (e) {
      output.dispose();
      throw e;
    }
  }

  private detached(output: Tensor): Tensor {
    if (output instanceof Promise) {
      // What it resolves to is not the caller's to free: freed here.
      output.then((t: unknown) => t instanceof Tensor && t.dispose(), () => undefined);
      throw new Error('CapturedStep: the step returned a promise: a step runs synchronously (loss.backwardSync(), not await loss.backward())');
    }
    if (!(output instanceof Tensor)) throw new Error(`CapturedStep: the step returned ${typeof output}, not a tensor`);
    const kept = output.detach();
    output.dispose();
    return kept;
  }
}

// The GPU runtime: records kernel dispatches into one command encoder per batch (a training step is a few
// submits, not hundreds), consecutive dispatches into one compute pass (WebGPU orders and synchronises the
// dispatches of a pass; a pass per dispatch cost 15-100 µs more per dispatch on lavapipe), caches pipelines,
// bind groups and uniforms (binding-cache.ts), hands out pooled buffers, reads results back, turns WebGPU
// validation and out-of-memory errors into exceptions that name the kernel and the shapes, runs the
// tuner's trials (tuner.ts) whenever the host waits on the device anyway, and records a step's commands to replay
// them (step-recording.ts).
//
// Binding convention for every shader in shaders/: the uniform parameters (if any) at @binding(0) of
// @group(0), storage buffers at @binding(1..n) in the order of `KernelCall.buffers`.

import { BindingCache } from './binding-cache.js';
import { BufferPool, type PoolCounters } from './buffer-pool.js';
import type { DeviceProfile, GpuDevice } from './device.js';
import { DeviceTimer } from './device-timer.js';
import { GpuError } from './gpu-error.js';
import { politeFor, waitPolitely } from './polite-wait.js';
import { Profiler } from './profiler.js';
import type { Params } from './params.js';
import { bufferOf, StepRecording } from './step-recording.js';
import type { Binding } from './storage.js';
import { Trie } from './trie.js';
import { Tuner, type TuningResult } from './tuner.js';

export interface KernelCall {
  /** Kernel name, e.g. 'conv1d.backwardWeight': named in errors and in the profiler's table. */
  kernel: string;
  /** The operands' shapes, e.g. 'x[16,1,48000] w[64,1,80]': named in errors. */
  shapes?: string;
  shader: string;
  entryPoint?: string;
  /** Values for the shader's `override` constants (workgroup and tile sizes). */
  constants?: Record<string, number>;
  /** Contents of the uniform at binding 0 (see `Params`). A function gives params that change at every call (a
   * step count, a seed): written into recycled buffers rather than cached per value, and called again at every
   * replay of a recorded step (./step-recording.ts), so it must read the values of the step it is called for. */
  params?: Params | (() => Params);
  buffers: Binding[];
  workgroups: [number, number?, number?];
}

/** A dispatch's name in errors and labels: the kernel and its shapes. Built only when needed (a new bind group
 * or batch, an error, the profiler): a string per dispatch is host time a training step does not need. */
export function labelOf(call: KernelCall): string {
  return call.shapes ? `${call.kernel} ${call.shapes}` : call.kernel;
}

/** WebGPU's least maxComputeWorkgroupsPerDimension: grids fold past it (grid1d, tileGrid), whatever the device's. */
export const MAX_GRID_SIDE = 65535;

/** Workgroup counts for `n` threads in groups of `size`, folded into 2-D past the 65535-per-dimension limit.
 * Shaders recover the linear index as `gid.x + gid.y * nwg.x * size`. */
export function grid1d(n: number, size: number): [number, number] {
  const groups = Math.max(1, Math.ceil(n / size));
  if (groups <= MAX_GRID_SIDE) return [groups, 1];
  const y = Math.ceil(groups / MAX_GRID_SIDE);
  return [Math.ceil(groups / y), y];
}

/** Workgroups for a grid of `rowTiles` × `colTiles` tiles: [colTiles, rowTiles], or past the 65535-per-dimension
 * limit (a matmul output over 2M columns wide, or rows tall, in tiles of 32) the tiles numbered row by row and
 * folded into 2-D as grid1d folds threads. Either way shaders read the tile back with foldedTile
 * (shaders/tile-grid.wgsl): t = wid.x + nwg.x·wid.y, in row t / colTiles and column t % colTiles; workgroups past
 * the last tile fall in a row past the end. */
export function tileGrid(rowTiles: number, colTiles: number): [number, number] {
  return rowTiles <= MAX_GRID_SIDE && colTiles <= MAX_GRID_SIDE ? [colTiles, rowTiles] : grid1d(rowTiles * colTiles, 1);
}

const STORAGE_USAGE = 0x80 | 0x04 | 0x08; // STORAGE | COPY_SRC | COPY_DST
const READ_USAGE = 0x01 | 0x08; // MAP_READ | COPY_DST
const MAX_DISPATCHES_PER_SUBMIT = 256;

export class GpuRuntime {
  readonly device: GPUDevice;
  readonly storage: BufferPool;
  private bindings: BindingCache;
  private staging: BufferPool;
  /** By shader text (generated shaders may share a length and a kernel name), entry point, then each constant's
   * name and value (see `pipelineSlot`). */
  private pipelines = new Trie<string | number, GPUComputePipeline>();
  private modules = new Map<string, GPUShaderModule>();
  private encoder: GPUCommandEncoder | null = null;
  /** The open compute pass of the batch; copies and clears end it (they are encoder commands). */
  private pass: GPUComputePassEncoder | null = null;
  /** Dispatches in the open batch. */
  private batchDispatches = 0;
  /** Error scopes popped and not yet awaited: the next wait throws the first error they hold. */
  private errors: Promise<GPUError | null>[] = [];
  /** The open batch's: they join `errors` at its submit, so that only a wait after the submit takes them (see
   * `submitPastTuning`). */
  private batchErrors: Promise<GPUError | null>[] = [];
  private batchLabel = '';
  /** What the last dispatch set on its pass (a new pass starts with nothing set). */
  private readonly bound: { pass: GPUComputePassEncoder | null; pipeline: GPUComputePipeline | null; bindGroup: GPUBindGroup | null } = { pass: null, pipeline: null, bindGroup: null };
  /** From the device profile's limits, read once (Dawn builds a new limits object at every `device.limits`). */
  private readonly maxWorkgroups: number;
  /** Records a debug group (the kernel and its shapes) around every dispatch, for tools such as RenderDoc; off
   * by default (two calls into Dawn a dispatch). */
  debugGroups = false;
  profiler: Profiler | null = null;
  private timer: DeviceTimer | null = null;
  /** Dispatches recorded and batches submitted since the runtime started: the benchmark's per-step counts
   * (read before and after a step). Counting costs two increments, so it is always on. */
  readonly counts = { dispatches: 0, submits: 0 };
  /** When set, dispatches are also tallied here by kernel name (the benchmark's one-step census). */
  kernelCounts: Map<string, number> | null = null;
  /** Kernel choice by measurement (see tuner.ts); `init` turns it on for GPUs. The runtime runs its trials. */
  readonly tuner = new Tuner();
  /** The tuning pass in flight, if any (see `tune`). */
  private tuning: Promise<TuningResult[]> | null = null;
  /** Wait on the device with dawn.node's event polling spaced out (./polite-wait.ts), so that a CPU driver keeps
   * every core; `init` turns it on for CPU drivers. Not after streams of tiny dispatches (`politeFor`). */
  politeWaits = false;
  private politeNow = true;
  /** For `politeFor`: when the first dispatch since the last wait for the queue was recorded (null: none yet),
   * and the dispatches recorded by that wait. */
  private firstDispatchAt: number | null = null;
  private dispatchesAtSettle = 0;
  /** While `precompile` records: the compiles its dispatches started (they are not run). */
  private compiles: Promise<unknown>[] | null = null;
  /** While a step is recorded (`beginRecording` to `endRecording`): its recording. */
  private recording: StepRecording | null = null;

  /** Set once the device is lost: every later use of this runtime throws it, where WebGPU would carry on
   * silently (a lost device's commands do nothing, and its maps fail with an empty message). */
  private lost: GpuError | null = null;

  /** Throws the device's loss, if it was lost: for checks that meet this runtime's tensors before any dispatch. */
  throwIfLost(): void {
    if (this.lost) throw this.lost;
  }

  constructor(readonly gpu: GpuDevice) {
    this.device = gpu.device;
    this.device.lost.then((info) => {
      const why = info.message ? `${info.reason}: ${info.message}` : info.reason;
      this.lost = new GpuError(`the WebGPU device was lost (${why}); its tensors are gone: init() again for a new device`);
    });
    this.maxWorkgroups = gpu.profile.limits.maxComputeWorkgroupsPerDimension;
    this.storage = new BufferPool(this.device, STORAGE_USAGE, (error) => this.errors.push(error));
    this.bindings = new BindingCache(this.device, undefined, (make) => this.scoped(make));
    this.staging = new BufferPool(this.device, READ_USAGE, (error) => this.errors.push(error));
  }

  /** What kind of adapter this is and what it offers (device.ts): the kernel families choose by it. */
  get profile(): DeviceProfile {
    return this.gpu.profile;
  }

  counters(): PoolCounters {
    return this.storage.stats();
  }

  /** Destroys the pooled buffers no tensor holds (storage and read-back staging), those released since the last
   * submit too; work already submitted on them completes first (WebGPU defers the destruction). */
  trim(): void {
    // Once what is recorded is submitted, no unsubmitted command can read a released buffer: all may go.
    this.flush();
    for (const pool of [this.storage, this.staging]) {
      pool.afterSubmit();
      pool.trim();
    }
  }

  /** Enables per-dispatch GPU timestamps (needs the adapter's 'timestamp-query'). */
  enableProfiler(): Profiler {
    if (!this.profile.timestamps) throw new Error('this adapter has no timestamp-query: the profiler cannot run');
    this.flush();
    this.profiler ??= new Profiler(this.device);
    return this.profiler;
  }

  allocate(bytes: number, label: string): GPUBuffer {
    return this.storage.acquire(Math.max(4, bytes), label);
  }

  release(buffer: GPUBuffer): void {
    // A recorded step's replays write it: kept out of the pool while the recording lives.
    if (this.recording) this.recording.keep(buffer, this.storage.acquisition(buffer));
    else this.storage.release(buffer);
  }

  /** A new buffer holding `data`. `constant`: data that is the same whenever the calling code runs (a backward
   * pass's seed of ones), which a recorded step keeps as recorded; any other upload while recording must be one of
   * the step's inputs. */
  upload(data: ArrayBufferView, label: string, constant = false): GPUBuffer {
    const buffer = this.allocate(data.byteLength, label);
    if (this.recording && !constant) {
      const input = this.recording.inputOf(data);
      if (input < 0) {
        this.storage.release(buffer);
        throw new GpuError(`recording a step: it uploads "${label}" (${data.byteLength} bytes), which is none of its inputs: a replay would upload the recorded values again; make what stays the same before the step, and pass what changes per step as an input of the step`);
      }
      this.recording.inputSlots.push({ buffer, input, bytes: data.byteLength, label });
    }
    // Pooled buffers come back only after a submit, so this write cannot overtake a recorded read.
    this.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    return buffer;
  }

  /** Zeroes the first `bytes` of a buffer, in order with the recorded dispatches. */
  clear(buffer: GPUBuffer, bytes: number): void {
    this.recording?.commands.push({ kind: 'clear', buffer, bytes });
    this.recording?.bound.add(buffer);
    this.encoderCommand('clear').clearBuffer(buffer, 0, Math.ceil(bytes / 4) * 4);
  }

  /** Writes `data` into a buffer at `offset` (bytes), after everything recorded so far. */
  write(buffer: GPUBuffer, offset: number, data: ArrayBufferView): void {
    if (this.recording) throw new GpuError(`recording a step: it writes buffer "${buffer.label}" from the host, which a replay would not repeat: pass what changes per step as an input of the step`);
    // Submitted first: queue.writeBuffer would otherwise overtake recorded dispatches that use the buffer.
    this.flush();
    this.device.queue.writeBuffer(buffer, offset, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Copies `bytes` from src (at srcOffset) to dst (at dstOffset); offsets are multiples of 4. */
  copy(src: GPUBuffer, dst: GPUBuffer, bytes: number, srcOffset = 0, dstOffset = 0): void {
    if (this.recording) {
      this.recording.commands.push({ kind: 'copy', src, dst, bytes, srcOffset, dstOffset });
      this.recording.bound.add(src).add(dst);
    }
    this.encoderCommand('copy').copyBufferToBuffer(src, srcOffset, dst, dstOffset, Math.ceil(bytes / 4) * 4);
  }

  dispatch(call: KernelCall): void {
    const [x, y = 1, z = 1] = call.workgroups;
    const max = this.maxWorkgroups;
    if (x > max || y > max || z > max) throw new GpuError(`${labelOf(call)}: workgroups [${x}, ${y}, ${z}] exceed the device's ${max} per dimension`);
    if (this.compiles) {
      this.compiles.push(this.compile(call));
      return;
    }
    const pipeline = this.pipeline(call);
    const bindGroup = this.bindGroup(pipeline, call);
    if (this.recording) this.recording.commands.push({ kind: 'dispatch', call, pipeline, bindGroup });
    this.encode(call, pipeline, bindGroup);
  }

  /** A dispatch's bind group, its uniform made or found; while recording, the uniform and buffers noted. */
  private bindGroup(pipeline: GPUComputePipeline, call: KernelCall): GPUBindGroup {
    const { params, buffers } = call;
    const recording = this.recording;
    let uniform: GPUBuffer | null = null;
    if (typeof params === 'function') {
      if (recording) {
        uniform = this.bindings.ownUniform(params());
        recording.uniforms.push({ buffer: uniform, params });
      } else uniform = this.bindings.uniformFor(params(), true);
    } else if (params) {
      uniform = this.bindings.uniformFor(params, false);
      if (recording && !recording.pinned.has(uniform)) {
        recording.pinned.add(uniform);
        this.bindings.pin(uniform);
      }
    }
    if (recording) for (const b of buffers) recording.bound.add(bufferOf(b));
    return this.bindings.bindGroup(pipeline, uniform, buffers, () => labelOf(call));
  }

  /** Records a dispatch whose pipeline and bind group are known into the open batch. */
  private encode(call: KernelCall, pipeline: GPUComputePipeline, bindGroup: GPUBindGroup): void {
    const [x, y = 1, z = 1] = call.workgroups;
    const encoder = this.begin(call);
    // The profiler times passes, so it gets a pass per dispatch; otherwise the batch's open pass is reused (a pass
    // opened while `timeOnDevice` records writes the timer's timestamps).
    const pass = this.profiler
      ? encoder.beginComputePass({ label: labelOf(call), timestampWrites: this.profiler.timestampWrites(call.kernel) })
      : (this.pass ??= encoder.beginComputePass({ label: this.batchLabel, timestampWrites: this.timer?.passWrites() }));
    // Dawn names the innermost debug group in its error messages; a debug group costs two calls into Dawn a
    // dispatch, so only a runtime told to (`debugGroups`) records them. Without them an error at dispatch
    // still names the kernel and its shapes through the bind group's label.
    if (this.debugGroups) pass.pushDebugGroup(labelOf(call));
    // A step repeats kernels on the same buffers: state the pass already has is not set again.
    const bound = this.bound;
    const samePass = pass === bound.pass;
    if (!samePass || pipeline !== bound.pipeline) pass.setPipeline(pipeline);
    if (!samePass || pipeline !== bound.pipeline || bindGroup !== bound.bindGroup) pass.setBindGroup(0, bindGroup);
    bound.pass = pass;
    bound.pipeline = pipeline;
    bound.bindGroup = bindGroup;
    pass.dispatchWorkgroups(x, y, z);
    if (this.debugGroups) pass.popDebugGroup();
    this.counts.dispatches++;
    this.firstDispatchAt ??= performance.now();
    if (this.kernelCounts) this.kernelCounts.set(call.kernel, (this.kernelCounts.get(call.kernel) ?? 0) + 1);
    if (this.profiler) pass.end();
    if (++this.batchDispatches >= MAX_DISPATCHES_PER_SUBMIT || this.profiler?.full()) this.flush();
  }

  /** Submits what is recorded. Errors raised by it are thrown by the next `sync()`. */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    const encoder = this.encoder;
    this.encoder = null;
    this.batchDispatches = 0;
    // Dawn raises a recorded command's error at the encoder's finish() (a destroyed buffer's at the submit): the
    // batch's scopes need to be open around these calls only.
    this.scoped(() => {
      this.profiler?.resolve(encoder);
      this.device.queue.submit([encoder.finish({ label: this.batchLabel })]);
    });
    this.counts.submits++;
    this.errors.push(...this.batchErrors);
    this.batchErrors = [];
    this.storage.afterSubmit();
    this.bindings.afterSubmit();
    this.staging.afterSubmit();
    this.profiler?.afterSubmit();
  }

  /** Milliseconds the device spends on the work that `record` records, by its timestamps (./device-timer.ts):
   * neither the host's recording nor the wait for the queue is in it (except where the work fills more than a
   * batch: the device may then wait between its submits). Needs the adapter's 'timestamp-query', and the profiler
   * off (it gives every dispatch a timed pass of its own). */
  async timeOnDevice(record: () => void): Promise<number> {
    if (!this.profile.timestamps) throw new Error('this adapter has no timestamp-query: the device cannot time work');
    if (this.profiler) throw new Error('timeOnDevice: the profiler is on, and times every pass itself');
    const timer = (this.timer ??= new DeviceTimer(this.device));
    this.flush();
    timer.start();
    try {
      record();
    } catch (e) {
      timer.abandon();
      throw e;
    }
    if (!timer.finish(this.encoderCommand('device timer'))) throw new Error('timeOnDevice: the work recorded no dispatch');
    this.flush();
    const ms = await this.wait(timer.read());
    await this.throwErrors();
    return ms;
  }

  /** Waits for the queue and throws the first WebGPU error raised since the last sync; then tunes what the
   * tuner queued meanwhile (see `tune`). */
  async sync(): Promise<void> {
    await this.submitPastTuning();
    await this.settle();
    await this.tune();
  }

  /** Times the variants of the problems the tuner queued (when tuning is on) and keeps the fastest. The runtime
   * calls it whenever the host waits on the device (`sync`, `read`), so no training loop has to; call it to
   * tune at once. Returns what it measured. One pass at a time: a call during a pass gets that pass's promise,
   * so that its end means tuning ended (the benchmark's `tunePending` keeps tuning out of its samples). */
  tune(): Promise<TuningResult[]> {
    if (this.tuning) return this.tuning;
    if (!this.tuner.pending) return Promise.resolve([]);
    // Set before the pass's first wait: a caller in that wait would otherwise start a second pass.
    this.tuning = this.tunePass().finally(() => {
      this.tuning = null;
    });
    return this.tuning;
  }

  private async tunePass(): Promise<TuningResult[]> {
    await this.settle();
    // The trials are not the workload: they are kept out of the profiler's table.
    const profiler = this.profiler;
    this.profiler = null;
    try {
      return await this.tuner.tune(this);
    } finally {
      this.profiler = profiler;
    }
  }

  /** Submits what is recorded; during a tuning pass, then waits for the pass to end, with this batch's errors
   * kept from it: each of the pass's waits throws the errors raised since the last one, so a read meanwhile would
   * take a failing candidate's error (and the pass would count this batch's against a candidate). */
  private async submitPastTuning(): Promise<void> {
    const before = this.errors.length;
    this.flush();
    if (!this.tuning) return;
    const own = this.errors.splice(before);
    await this.tuning.catch(() => {}); // the pass's own failure is its caller's
    this.errors.push(...own);
  }

  /** Waits for the queue and throws the first WebGPU error raised since the last wait, without tuning: the
   * tuner's waits (a `sync` there would wait for the pass it is part of). */
  async settle(): Promise<void> {
    this.refuseWaitWhileRecording();
    this.flush();
    await this.wait(this.device.queue.onSubmittedWorkDone());
    if (this.lost) throw this.lost;
    // From the first dispatch since the last wait, not from that wait: what the host did in between (another
    // engine's work, the application's own) says nothing of how long the dispatches take.
    const at = performance.now();
    this.politeNow = politeFor(at - (this.firstDispatchAt ?? at), this.counts.dispatches - this.dispatchesAtSettle);
    this.firstDispatchAt = null;
    this.dispatchesAtSettle = this.counts.dispatches;
    await this.throwErrors();
  }

  async read(buffer: GPUBuffer, bytes: number, offset = 0): Promise<ArrayBuffer> {
    // The copy is recorded and submitted before anything is awaited: a tensor disposed right after toArray() (as
    // tidy(() => y.toArray()) does) frees its buffer at the next submit, and a tuning pass would reuse it.
    this.refuseWaitWhileRecording();
    const size = Math.ceil(bytes / 4) * 4;
    const staging = this.staging.acquire(size, 'readback');
    let copy: ArrayBuffer | null = null;
    try {
      this.encoderCommand('readback').copyBufferToBuffer(buffer, offset, staging, 0, size);
      await this.submitPastTuning();
      await this.throwErrors();
      await this.wait(staging.mapAsync(GPUMapMode.READ, 0, size)).catch((e) => {
        throw this.lost ?? e;
      });
      const mapped = staging.getMappedRange(0, size).slice(0);
      staging.unmap();
      copy = mapped;
    } finally {
      // Pooled again only after a map that succeeded: one that failed, or never started, leaves the buffer in no
      // state known to be reusable.
      if (copy) this.staging.release(staging);
      else this.staging.discard(staging);
    }
    await this.tune();
    return copy.byteLength === bytes ? copy : copy.slice(0, bytes);
  }

  private refuseWaitWhileRecording(): void {
    if (!this.recording) return;
    // Also thrown when the recording ends: the step may not await the read that refused it.
    this.recording.refusal ??= new GpuError('recording a step: it waits for the device (a read or a sync), which a replay would not: a recorded step must run without reading back');
    throw this.recording.refusal;
  }

  /** A promise of Dawn's, awaited politely where that is on and the last wait did not follow tiny dispatches. */
  private wait<T>(promise: Promise<T>): Promise<T> {
    return this.politeWaits && this.politeNow ? waitPolitely(promise) : promise;
  }

  private async throwErrors(): Promise<void> {
    const pending = this.errors;
    this.errors = [];
    const first = (await this.wait(Promise.all(pending))).find((e) => e);
    if (first) throw new GpuError(`WebGPU ${first.constructor.name}: ${first.message}`);
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  /** The batch's encoder for an encoder command (copy, clear): the open compute pass must end first. */
  private encoderCommand(label: string): GPUCommandEncoder {
    const encoder = this.begin(label);
    this.endPass();
    return encoder;
  }

  private begin(what: string | KernelCall): GPUCommandEncoder {
    if (this.lost) throw this.lost;
    if (!this.encoder) {
      const label = typeof what === 'string' ? what : labelOf(what);
      this.encoder = this.device.createCommandEncoder({ label });
      this.batchLabel = `batch from ${label}`;
    }
    return this.encoder;
  }

  /** Runs `make`, a part of the open batch, between a validation and an out-of-memory error scope, popped before it
   * returns; the first error they catch is thrown by a wait after the batch's submit, in Dawn's words, which name
   * the label of the bind group or pass (kernel and shapes) that raised it. Error scopes are one stack per device:
   * one left open while other code runs (another runtime on the device, the application) would catch that code's
   * errors, and that code's pops would take ours. So scopes go around each creation (cached: rare in a training
   * step) and around the batch's submit, where Dawn raises its recorded commands' errors; never around a
   * dispatch (a pair of scopes a dispatch would be host time). */
  private scoped<T>(make: () => T): T {
    this.device.pushErrorScope('validation');
    this.device.pushErrorScope('out-of-memory');
    try {
      return make();
    } finally {
      this.batchErrors.push(this.device.popErrorScope(), this.device.popErrorScope());
    }
  }

  /** Compiles the pipelines that the dispatches `record` makes would use, without running them: the compiles
   * go through createComputePipelineAsync, which an implementation may run in parallel (the tuner compiles all
   * its candidates this way before timing them, where compiling one by one was most of a tuning pass). A
   * pipeline that fails to compile here is compiled again, and fails with its error, when it is dispatched. */
  async precompile(record: () => void): Promise<void> {
    const compiles: Promise<unknown>[] = [];
    this.compiles = compiles;
    try {
      record();
    } finally {
      this.compiles = null;
    }
    await this.wait(Promise.all(compiles));
  }

  /** Starts recording the commands recorded from now on, for `replay` (./step-recording.ts): the step's uploads of
   * `inputs` become the replay's input slots. `endRecording` ends it, or `abandonRecording` if the step throws. */
  beginRecording(inputs: readonly ArrayBufferView[]): void {
    if (this.recording) throw new GpuError('recording a step: a step is being recorded already (recordings do not nest)');
    if (this.lost) throw this.lost;
    this.recording = new StepRecording(inputs, this.storage.mark(), this.tuner.revision);
  }

  /** The recording, or, if the step did what a replay could not repeat, that error (the recording disposed). */
  endRecording(): StepRecording {
    const recording = this.recording;
    if (!recording) throw new GpuError('endRecording: no step is being recorded');
    this.recording = null;
    try {
      recording.finish((buffer) => this.storage.acquisition(buffer));
    } catch (e) {
      this.disposeRecording(recording);
      throw e;
    }
    return recording;
  }

  /** Whether a recording runs the kernels that its step would choose now: false once the tuner chose others. */
  isCurrent(recording: StepRecording): boolean {
    return !recording.disposed && recording.tunerRevision === this.tuner.revision;
  }

  /** Ends a recording whose step threw: what it kept goes back to the pool. */
  abandonRecording(): void {
    const recording = this.recording;
    this.recording = null;
    if (recording) this.disposeRecording(recording);
  }

  /** Records a recorded step's commands again into the open batch, after writing its inputs (by index, as given to
   * `beginRecording`) and its per-step uniforms; `prepare` runs just before those writes (the host work of the step that
   * its uniforms read). Throws, having run and written nothing, if an input's size is not the recorded one or a
   * buffer the step binds and does not keep was freed since. */
  replay(recording: StepRecording, inputs: readonly ArrayBufferView[], prepare?: () => void): void {
    if (this.recording) throw new GpuError('replay: a step is being recorded (a replay would be recorded into it)');
    if (this.lost) throw this.lost;
    recording.checkReplay(inputs, (buffer) => this.storage.acquisition(buffer));
    prepare?.();
    // The previous replay's commands are submitted before these writes, which would otherwise overtake them.
    this.flush();
    const queue = this.device.queue;
    for (const slot of recording.inputSlots) {
      const data = inputs[slot.input];
      queue.writeBuffer(slot.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    }
    for (const uniform of recording.uniforms) queue.writeBuffer(uniform.buffer, 0, uniform.params().bytes());
    for (const command of recording.commands) {
      if (command.kind === 'dispatch') this.encode(command.call, command.pipeline, command.bindGroup);
      else if (command.kind === 'copy') this.copy(command.src, command.dst, command.bytes, command.srcOffset, command.dstOffset);
      else this.clear(command.buffer, command.bytes);
    }
  }

  /** Frees what a recording holds: its kept buffers go back to the pool, its own uniforms are destroyed, its pins
   * let go. Commands already recorded from it still run (destruction waits for submitted work). */
  disposeRecording(recording: StepRecording): void {
    if (recording.disposed) return;
    recording.disposed = true;
    this.flush();
    // Each by the acquisition it was kept at: a kernel that threw released what it had acquired already
    // (defineKernel's releaseSince), and the pool may have handed it out again since.
    for (const [buffer, acquired] of recording.kept) if (this.storage.acquisition(buffer) === acquired) this.storage.release(buffer);
    for (const { buffer } of recording.uniforms) buffer.destroy();
    for (const buffer of recording.pinned) this.bindings.unpin(buffer);
  }

  private pipeline(call: KernelCall): GPUComputePipeline {
    const slot = this.pipelineSlot(call);
    return (slot.value ??= this.scoped(() => this.device.createComputePipeline(this.pipelineDescriptor(call))));
  }

  /** Starts compiling a dispatch's pipeline in the background (see `precompile`). */
  private compile(call: KernelCall): Promise<unknown> {
    const slot = this.pipelineSlot(call);
    if (slot.value) return Promise.resolve();
    return this.device
      .createComputePipelineAsync(this.pipelineDescriptor(call))
      .then((pipeline) => {
        slot.value ??= pipeline;
      })
      .catch(() => {});
  }

  /** Where a dispatch's pipeline is cached: the shader text (the same string object every call, whose hash V8
   * keeps), the entry point, then the constants' names and values in order: with 9 constants (a tiled convolution),
   * 0.18 µs a lookup in a micro-benchmark, against 0.54-0.61 µs for a key string built per dispatch. */
  private pipelineSlot(call: KernelCall): Trie<string | number, GPUComputePipeline> {
    let node = this.pipelines.child(call.shader).child(call.entryPoint ?? 'main');
    const constants = call.constants;
    if (constants) for (const name in constants) node = node.child(name).child(constants[name]);
    return node;
  }

  private pipelineDescriptor(call: KernelCall): GPUComputePipelineDescriptor {
    let module = this.modules.get(call.shader);
    if (!module) {
      module = this.device.createShaderModule({ code: call.shader, label: call.kernel });
      this.modules.set(call.shader, module);
    }
    const entryPoint = call.entryPoint ?? 'main';
    return { label: `${call.kernel}:${entryPoint}`, layout: 'auto', compute: { module, entryPoint, constants: call.constants ?? {} } };
  }
}

// The host-split child: `node dist/bench/host-split.js --preset default --batch 16 [--tune|--no-tune]
// [--no-capture]`, spawned by cases-host-split.ts, with the step replayed as the trainer replays it (or with
// --no-capture run in full every time). Of a training step's host time, how much is ours (autograd, the kernels'
// set-up, the runtime's caches and bookkeeping; of a replayed step, the replay's) and how much is Dawn's and the
// driver's (validating, encoding, submitting):
// it measures the host time as the model rows do (measureHost), then replaces Dawn's recording and submitting
// calls (command encoders and passes, submit, queue writes, error scopes) with no-ops and measures again: the
// steps then run our code alone. Warm first, so that pipelines, bind groups and uniforms are made before the
// stubs go in (those calls stay Dawn's, and a warm step makes none). Tuning choices come from
// $SER_WEBGPU_CACHE/tuning.json where tuning is on (the main run leaves them there), so the same kernels run.
// The stubs cannot be taken out again: hence a process of its own. Before the stubs, the Dawn calls of one step are
// recorded and replayed alone (recordDawnCalls): Dawn's and the driver's own cost for these dispatches. Last stdout
// line, one JSON object: { dispatches, kernels, hostMs, dawnMs, ownMs, clock }.
// With --gpu-path, ours on a GPU's kernels, on any adapter (so that a machine without a GPU measures it): a second
// runtime on this device whose profile describes the adapter as a GPU (`asGpu`, as test/kernels/gpu-path.test.ts
// makes), so that the steps take the tiled kernels and their tuning keys, every problem kept on its rule's kernel.
// Dawn is stubbed from the start (nothing runs; lavapipe would take minutes a step on those kernels), so there
// is no host time of Dawn's to report: hostMs and dawnMs are null.

import { asGpu } from '../src/gpu/device.js';
import { GpuRuntime } from '../src/gpu/runtime.js';
import { setStepCapture, tunePending, type Engine } from '../src/index.js';
import { WebGpuBackend } from '../src/kernels/backend.js';
import { childArgs, startStepEngine, stepArg, type StepArgs } from './child.js';
import { benchModelConfig, hostBatch, OurSer } from './ser-ours.js';
import { measureHost, type Workload } from './timing.js';

export interface HostSplit {
  dispatches: number;
  /** The kernel family the steps took ('tiled' on a GPU and on the GPU path). */
  kernels: string;
  /** Host ms of a step (null on the GPU path: see the header), and of the same step with Dawn's recording calls
   * stubbed out (ours alone). */
  hostMs: number | null;
  /** Host ms of the step's calls into Dawn replayed alone (recordDawnCalls): Dawn's and the driver's floor for
   * these dispatches, which no engine on Dawn goes under. hostMs − ownMs − dawnMs is what the two cost each other
   * interleaved on one thread (caches, branch predictors). Null on the GPU path, as hostMs. */
  dawnMs: number | null;
  ownMs: number;
  clock: 'thread-cpu' | 'wall';
}

/** Records the calls into Dawn that one run of `step` makes (queue writes; each pass's pipelines, bind groups and
 * grids; the submit) and returns their replay: the same work recorded and submitted with none of our code around
 * it, whose host time is Dawn's and the driver's alone for exactly these dispatches. A step of the runtime records
 * one encoder with one compute pass (no profiler, at most 256 dispatches); anything else is refused. */
function recordDawnCalls(device: GPUDevice, step: () => void): () => void {
  const writes: { buffer: GPUBuffer; offset: number; data: Uint8Array }[] = [];
  const dispatches: { pipeline: GPUComputePipeline | null; group: GPUBindGroup | null; grid: [number, number, number] }[] = [];
  let encoders = 0;
  const queue = device.queue;
  const { writeBuffer } = queue;
  const { createCommandEncoder } = device;
  queue.writeBuffer = function (buffer: GPUBuffer, offset: number, data: BufferSource | SharedArrayBuffer, dataOffset = 0, size?: number) {
    const bytes = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data as ArrayBuffer);
    const unit = ArrayBuffer.isView(data) && 'BYTES_PER_ELEMENT' in data ? (data as Uint8Array).BYTES_PER_ELEMENT : 1;
    const start = dataOffset * unit;
    writes.push({ buffer, offset, data: bytes.slice(start, size === undefined ? undefined : start + size * unit) });
    return writeBuffer.call(this, buffer, offset, data as BufferSource, dataOffset, size);
  };
  device.createCommandEncoder = function (descriptor?: GPUCommandEncoderDescriptor) {
    encoders++;
    const encoder = createCommandEncoder.call(this, descriptor);
    const { beginComputePass } = encoder;
    encoder.beginComputePass = function (passDescriptor?: GPUComputePassDescriptor) {
      const pass = beginComputePass.call(this, passDescriptor);
      let pipeline: GPUComputePipeline | null = null;
      let group: GPUBindGroup | null = null;
      const { setPipeline, setBindGroup, dispatchWorkgroups } = pass;
      pass.setPipeline = function (p: GPUComputePipeline) {
        pipeline = p;
        return setPipeline.call(this, p);
      };
      const bind = setBindGroup as (this: GPUComputePassEncoder, index: number, g: GPUBindGroup | null) => undefined;
      pass.setBindGroup = function (index: number, g: GPUBindGroup | null, ...offsets: unknown[]) {
        if (index !== 0 || offsets.length) throw new Error('host split: a bind group past index 0, or with dynamic offsets, which the replay does not record');
        group = g;
        return bind.call(this, index, g);
      };
      pass.dispatchWorkgroups = function (x: number, y = 1, z = 1) {
        dispatches.push({ pipeline, group, grid: [x, y, z] });
        pipeline = group = null;
        return dispatchWorkgroups.call(this, x, y, z);
      };
      return pass;
    };
    return encoder;
  };
  try {
    step();
  } finally {
    Object.assign(queue, { writeBuffer });
    Object.assign(device, { createCommandEncoder });
  }
  if (encoders !== 1) throw new Error(`host split: a step recorded ${encoders} command encoders, where the replay expects one`);
  return () => {
    for (const w of writes) queue.writeBuffer(w.buffer, w.offset, w.data);
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    for (const d of dispatches) {
      if (d.pipeline) pass.setPipeline(d.pipeline);
      if (d.group) pass.setBindGroup(0, d.group);
      pass.dispatchWorkgroups(...d.grid);
    }
    pass.end();
    queue.submit([encoder.finish()]);
  };
}

/** Makes the device's command recording and submission no-ops (see the header). */
function stubRecording(device: GPUDevice): void {
  const pass = { setPipeline() {}, setBindGroup() {}, dispatchWorkgroups() {}, end() {}, pushDebugGroup() {}, popDebugGroup() {} };
  const encoder = { beginComputePass: () => pass, copyBufferToBuffer() {}, clearBuffer() {}, finish: () => ({}) };
  const stubs: Partial<GPUDevice> = {
    createCommandEncoder: () => encoder as unknown as GPUCommandEncoder,
    pushErrorScope: () => {},
    popErrorScope: () => Promise.resolve(null),
  };
  Object.assign(device, stubs);
  Object.assign(device.queue, { submit: () => {}, writeBuffer: () => {} });
}

/** Makes the engine's backend a runtime on the same device whose profile says the adapter is a GPU, Dawn stubbed. */
function onGpuPath(engine: Engine): void {
  const runtime = new GpuRuntime(asGpu(engine.runtime!.gpu));
  runtime.tuner.enabled = true;
  stubRecording(runtime.device);
  Object.assign(engine, { runtime, backend: new WebGpuBackend(runtime) });
}

/** Warm-up before anything is timed, as the model rows are timed after their samples: up to 500 steps or 5 s,
 * whichever comes first (a GPU, or Dawn stubbed: 500; lavapipe: some 80 of the default model). By then the
 * bind-group cache has settled (the buffer pool hands a step the same buffers only after some 30 steps) and V8 has
 * optimised the step's code: on the GPU path, ours read 0.38 ms a step after 3 steps and 0.27 after 200. */
const WARM_STEPS = 500;
const WARM_MS = 5_000;

async function warmUp(step: Workload): Promise<void> {
  const started = performance.now();
  for (let i = 1; i <= WARM_STEPS && performance.now() - started < WARM_MS; i++) {
    await step.run();
    if (i % 20 === 0) await step.sync(); // no backlog of queued work on a slow device
  }
  await step.sync();
}

async function main(): Promise<HostSplit> {
  const a: StepArgs = { preset: 'default', batch: 16, tune: null };
  let gpuPath = false;
  childArgs('host-split', process.argv.slice(2), (flag, v) => {
    if (flag === '--gpu-path') return (gpuPath = true), 0;
    if (flag === '--no-capture') return setStepCapture(false), 0;
    return stepArg(a, flag, v);
  });
  const { engine } = await startStepEngine(a.tune);
  if (gpuPath) onGpuPath(engine);
  const runtime = engine.runtime!;
  const config = benchModelConfig(a.preset);
  const model = new OurSer(config, hostBatch(a.batch, config.windowSamples, 3));
  model.step();
  if (gpuPath) runtime.tuner.keepRules();
  await tunePending();
  const step: Workload = { run: () => model.step(), sync: () => runtime.sync() };
  await warmUp(step);
  const before = runtime.counts.dispatches;
  step.run();
  const dispatches = runtime.counts.dispatches - before;
  // On the GPU path Dawn has been stubbed from the start: ours is all there is.
  const host = gpuPath ? null : await measureHost(step);
  const dawn = gpuPath ? null : await measureHost({ run: recordDawnCalls(runtime.device, () => model.step()), sync: step.sync });
  if (!gpuPath) {
    stubRecording(runtime.device);
    // Warmed again: the call sites that called into Dawn now call the stubs, and V8 optimises them afresh. Measured
    // straight away, ours read 0.78-0.90 ms a default step on lavapipe; after this, 0.45-0.64 (2026-11-27).
    await warmUp(step);
  }
  // measureHost's untimed run after each sync serves the stubbed steps as it served the real ones.
  const own = await measureHost(step);
  return { dispatches, kernels: runtime.profile.kernels, hostMs: host?.ms ?? null, dawnMs: dawn?.ms ?? null, ownMs: own.ms, clock: own.clock };
}

main().then(
  (split) => {
    console.log(JSON.stringify(split));
    process.exit(0);
  },
  (e) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(2);
  },
);

// The host-split child: `node dist/bench/host-split.js --preset default --batch 16 [--tune|--no-tune]`, spawned
// by cases-host-split.ts. Of a training step's host time, how much is ours (autograd, the kernels' set-up, the
// runtime's caches and bookkeeping) and how much is Dawn's and the driver's (validating, encoding, submitting):
// it measures the host time as the model rows do (measureHost), then replaces Dawn's recording and submitting
// calls (command encoders and passes, submit, queue writes, error scopes) with no-ops and measures again: the
// steps then run our code alone. Warm first, so that pipelines, bind groups and uniforms are made before the
// stubs go in (those calls stay Dawn's, and a warm step makes none). Tuning choices come from
// $SER_WEBGPU_CACHE/tuning.json where tuning is on (the main run leaves them there), so the same kernels run.
// The stubs cannot be taken out again: hence a process of its own. Last stdout line, one JSON object:
// { dispatches, kernels, hostMs, ownMs, clock }.
// With --gpu-path, ours on a GPU's kernels, on any adapter (so that a machine without a GPU measures it): a second
// runtime on this device whose profile describes the adapter as a GPU (`asGpu`, as test/kernels/gpu-path.test.ts
// makes), so that the steps take the tiled kernels and their tuning keys, every problem kept on its rule's kernel.
// Dawn is stubbed from the start (nothing runs; lavapipe would take minutes a step on those kernels), so there
// is no host time of Dawn's to report: hostMs is null.

import { asGpu } from '../src/gpu/device.js';
import { GpuRuntime } from '../src/gpu/runtime.js';
import { tunePending, type Engine } from '../src/index.js';
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
  ownMs: number;
  clock: 'thread-cpu' | 'wall';
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
  childArgs('host-split', process.argv.slice(2), (flag, v) => (flag === '--gpu-path' ? ((gpuPath = true), 0) : stepArg(a, flag, v)));
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
  if (!gpuPath) {
    stubRecording(runtime.device);
    // Warmed again: the call sites that called into Dawn now call the stubs, and V8 optimises them afresh. Measured
    // straight away, ours read 0.78-0.90 ms a default step on lavapipe; after this, 0.45-0.64 (2026-11-27).
    await warmUp(step);
  }
  // measureHost's untimed run after each sync serves the stubbed steps as it served the real ones.
  const own = await measureHost(step);
  return { dispatches, kernels: runtime.profile.kernels, hostMs: host?.ms ?? null, ownMs: own.ms, clock: own.clock };
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

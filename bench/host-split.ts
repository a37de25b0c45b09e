// The host-split child: `node dist/bench/host-split.js --preset default --batch 16 [--tune|--no-tune]`, spawned
// by cases-host-split.ts. Of a training step's host time, how much is ours (autograd, the kernels' set-up, the
// runtime's caches and bookkeeping) and how much is Dawn's and the driver's (validating, encoding, submitting):
// it measures the host time as the model rows do (measureHost), then replaces Dawn's recording and submitting
// calls (command encoders and passes, submit, queue writes, error scopes) with no-ops and measures again: the
// steps then run our code alone. Warm first, so that pipelines, bind groups and uniforms are made before the
// stubs go in (those calls stay Dawn's, and a warm step makes none). Tuning choices come from
// $SER_WEBGPU_CACHE/tuning.json where tuning is on (the main run leaves them there), so the same kernels run.
// The stubs cannot be taken out again: hence a process of its own. Last stdout line, one JSON object:
// { dispatches, hostMs, ownMs, clock }.

import { tunePending } from '../src/index.js';
import { childArgs, startStepEngine, stepArg, type StepArgs } from './child.js';
import { benchModelConfig, hostBatch, OurSer } from './ser-ours.js';
import { measureHost, type Workload } from './timing.js';

export interface HostSplit {
  dispatches: number;
  /** Host ms of a step, and of the same step with Dawn's recording calls stubbed out (ours alone). */
  hostMs: number;
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

async function main(): Promise<HostSplit> {
  const a: StepArgs = { preset: 'default', batch: 16, tune: null };
  childArgs('host-split', process.argv.slice(2), (flag, v) => stepArg(a, flag, v));
  const { engine } = await startStepEngine(a.tune);
  const runtime = engine.runtime!;
  const config = benchModelConfig(a.preset);
  const model = new OurSer(config, hostBatch(a.batch, config.windowSamples, 3));
  model.step();
  await tunePending();
  const step: Workload = { run: () => model.step(), sync: () => runtime.sync() };
  for (let i = 0; i < 3; i++) step.run();
  const before = runtime.counts.dispatches;
  step.run();
  const dispatches = runtime.counts.dispatches - before;
  const host = await measureHost(step);
  stubRecording(runtime.device);
  // measureHost's untimed run after each sync serves the stubbed steps as it served the real ones.
  const own = await measureHost(step);
  return { dispatches, hostMs: host.ms, ownMs: own.ms, clock: host.clock };
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

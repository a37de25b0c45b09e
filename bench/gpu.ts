// One dawn.node GPU for both engines: it is installed as navigator.gpu before either starts, so our
// `init()` (src/gpu/device.ts looks at navigator.gpu first) and TensorFlow.js's WebGPU backend request
// their devices from the same adapter in this process. Also the queue synchronisation both sides are timed with.

import type * as TF from '@tensorflow/tfjs-core';
import { init, type Engine } from '../src/index.js';
import { inNode, isCpuAdapter as isCpuDescription, nodeGpu } from '../src/gpu/device.js';
import { waitPolitely } from '../src/gpu/polite-wait.js';

export type Tfjs = typeof TF;

/** Installs dawn.node as navigator.gpu (in Node; a browser already has one) and starts our engine on it. */
export async function startEngine(): Promise<Engine> {
  await installDawn();
  const engine = await init();
  if (!engine.runtime) throw new Error('bench: the WebGPU engine did not start');
  return engine;
}

/** Installs dawn.node as navigator.gpu, where there is none yet (Node). */
export async function installDawn(): Promise<void> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (!nav?.gpu && inNode) {
    const dawnGpu = await nodeGpu();
    // Node ≥ 21 has a navigator (behind a read-only global getter): add gpu to it; Node 20 has none.
    if (nav) Object.defineProperty(nav, 'gpu', { value: dawnGpu, configurable: true });
    else Object.defineProperty(globalThis, 'navigator', { value: { gpu: dawnGpu }, configurable: true, writable: true });
  }
}

/** Loads TensorFlow.js with its WebGPU backend on navigator.gpu (call after startEngine or installDawn). */
export async function startTfjs(): Promise<Tfjs> {
  // The backend registers itself only if navigator.gpu exists when it is first imported, hence the late import.
  // tfjs-core is CommonJS: in a bundle split into chunks (the cold-start child) its namespace is `default`.
  const core = (await import('@tensorflow/tfjs-core')) as Tfjs & { default?: Tfjs };
  const tf = typeof core.setBackend === 'function' ? core : core.default!;
  await import('@tensorflow/tfjs-backend-webgpu');
  // The gradient registrations (tf.variableGrads needs them) ship only as ES modules inside tfjs-core's CommonJS
  // package, which Node cannot load; a relative path makes esbuild bundle them. They register into tfjs's
  // global registry, so the engine loaded above finds them.
  await import('../node_modules/@tensorflow/tfjs-core/dist/register_all_gradients.js');
  if (!(await tf.setBackend('webgpu'))) throw new Error('TensorFlow.js: the webgpu backend did not start');
  await tf.ready();
  // By default tfjs runs ops on small tensors that still live on the CPU with its CPU backend; the benchmark
  // compares GPU work with GPU work.
  tf.env().set('WEBGPU_CPU_FORWARD', false);
  return tf;
}

interface TfjsWebGpuBackend {
  device: GPUDevice;
  commandEncoder: GPUCommandEncoder | null;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

let busyWaits = false;

/** Both engines wait on the device in dawn.node's busy loop (--busy-waits), also on a CPU driver. */
export function useBusyWaits(engine: Engine): void {
  busyWaits = true;
  engine.runtime!.politeWaits = false;
}

/** Submits what tfjs has recorded and waits for the queue: the counterpart of our `runtime.sync()`, waiting
 * politely on a CPU driver as ours does (src/gpu/polite-wait.ts), so that the two engines' kernels run on as many
 * cores. Ours turns to dawn.node's busy loop after streams of tiny dispatches (`politeFor`); tfjs keeps the polite
 * wait, which was as fast or faster for its tiny cases (lavapipe, 2026-11-27, three runs each: linear 16x64->4
 * bwdWeight 54-58 µs polite, 49-61 busy; bwdInput 88-94 polite, 102-109 busy). */
export async function tfjsSync(tf: Tfjs): Promise<void> {
  const backend = tf.backend() as unknown as TfjsWebGpuBackend;
  backend.endComputePassEncoder();
  if (backend.commandEncoder) backend.submitQueue();
  const done = backend.device.queue.onSubmittedWorkDone();
  await (!busyWaits && isCpuDescription(backend.device.adapterInfo) ? waitPolitely(done) : done);
}

/** Whether the engine runs on a CPU implementation (lavapipe/llvmpipe, SwiftShader): the engine's own reading
 * of the adapter, by which it also chose its kernels. */
export function isCpuAdapter(engine: Engine): boolean {
  return !!engine.adapter && isCpuDescription(engine.adapter);
}

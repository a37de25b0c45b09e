// `init()`: picks the backend that new tensors live on. One call in Node or in a page gives a ready WebGPU
// device; `init({ backend: 'cpu' })` gives the CPU reference instead (no GPU needed).

import { requestGpuDevice, type AdapterDescription } from '../gpu/device.js';
import { GpuRuntime } from '../gpu/runtime.js';
import type { TuningResult } from '../gpu/tuner.js';
import { keepTuningInPage, pageStorage } from '../gpu/tuning-store.js';
import { WebGpuBackend, type Backend } from '../kernels/backend.js';
import { CpuBackend } from '../kernels/cpu/backend.js';

export interface InitOptions {
  backend?: 'webgpu' | 'cpu';
  /** Time the candidate kernels of each new problem shape and keep the fastest (src/gpu/tuner.ts). Default: on
   * GPUs, off on CPU drivers, where each candidate pipeline takes seconds to compile. */
  tune?: boolean;
  /** Kernel choices saved from an earlier run (`runtime.tuner.choices()`) on the same adapter; used while
   * tuning is on. */
  tuning?: Record<string, string>;
  /** In a page, keep the tuner's choices in the origin's localStorage, per adapter, so that the next page load
   * does not tune the same shapes again (as the CLI keeps them in a file: src/gpu/tuning-store.ts). Default on
   * where the page has localStorage; read when the device starts (the first `init`). */
  keepTuning?: boolean;
  /** While waiting on the device, leave the CPU cores to the driver: dawn.node otherwise polls for the device's
   * events in a busy loop on the main thread (src/gpu/polite-wait.ts). Default: on CPU drivers, where the device
   * is those cores; off on GPUs, where polling costs a core nothing else needs and spacing it would add latency. */
  politeWaits?: boolean;
}

export interface Engine {
  backend: Backend;
  /** The WebGPU runtime (absent on the CPU backend). */
  runtime?: GpuRuntime;
  adapter?: AdapterDescription;
}

let current: Engine | null = null;
let gpuEngine: Promise<Engine> | null = null;
/** One CPU backend per process, as one device: a second init({ backend: 'cpu' }) (a second recogniser loaded on
 * the CPU) had made a new one, and every tensor of the first (its weights) then failed to mix with the new one's
 * ("is on cpu but … is on cpu"). */
let cpuEngine: Engine | null = null;

export async function init(options: InitOptions = {}): Promise<Engine> {
  const kind = options.backend ?? 'webgpu';
  if (kind !== 'webgpu' && kind !== 'cpu') throw new Error(`init: unknown backend "${kind}" (use 'webgpu' or 'cpu')`);
  if (kind === 'cpu') {
    current = cpuEngine ??= { backend: new CpuBackend() };
    return current;
  }
  // One device per process: a second init() returns the same one, until it is lost.
  const created = (gpuEngine ??= requestGpuDevice().then((gpu) => {
    // A lost device is gone for good (its runtime throws from then on): the next init() asks for a new one.
    gpu.device.lost.then(() => {
      if (gpuEngine === created) gpuEngine = null;
    });
    const runtime = new GpuRuntime(gpu);
    runtime.tuner.enabled = gpu.profile.kind === 'gpu';
    runtime.politeWaits = gpu.profile.kind === 'cpu';
    const storage = options.keepTuning === false ? null : pageStorage();
    if (storage) keepTuningInPage(runtime.tuner, gpu.adapter, storage);
    return { backend: new WebGpuBackend(runtime), runtime, adapter: gpu.adapter };
  }));
  try {
    current = await created;
  } catch (e) {
    gpuEngine = null;
    throw e;
  }
  const tuner = current.runtime!.tuner;
  if (options.tune !== undefined) tuner.enabled = options.tune;
  if (options.tuning) tuner.load(options.tuning);
  if (options.politeWaits !== undefined) current.runtime!.politeWaits = options.politeWaits;
  return current;
}

/** Times, now, the kernels of problem shapes met since the runtime last tuned (when tuning is on). Nobody has
 * to call it: the runtime tunes by itself whenever the host waits on the device; the benchmark calls it so that
 * no tuning falls inside a timed sample. Returns what it measured. */
export async function tunePending(): Promise<TuningResult[]> {
  return (await current?.runtime?.tune()) ?? [];
}

export function engine(): Engine {
  if (!current) throw new Error('ser-webgpu is not initialised: call `await init()` first');
  return current;
}

export function defaultBackend(): Backend {
  return engine().backend;
}

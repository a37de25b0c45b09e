// `init()`: picks the backend that new tensors live on. One call in Node or in a page gives a ready WebGPU
// device; `init({ backend: 'cpu' })` gives the CPU reference instead (no GPU needed).

import type { Backend } from './backend.js';
import { CpuBackend } from './cpu/backend.js';
import { requestGpuDevice, type AdapterDescription } from './device.js';
import { GpuRuntime } from './runtime.js';
import { WebGpuBackend } from '../kernels/backend.js';

export interface InitOptions {
  backend?: 'webgpu' | 'cpu';
}

export interface Engine {
  backend: Backend;
  /** The WebGPU runtime (absent on the CPU backend). */
  runtime?: GpuRuntime;
  adapter?: AdapterDescription;
}

let current: Engine | null = null;
let gpuEngine: Promise<Engine> | null = null;

export async function init(options: InitOptions = {}): Promise<Engine> {
  const kind = options.backend ?? 'webgpu';
  if (kind !== 'webgpu' && kind !== 'cpu') throw new Error(`init: unknown backend "${kind}" (use 'webgpu' or 'cpu')`);
  if (kind === 'cpu') {
    current = { backend: new CpuBackend() };
    return current;
  }
  // One device per process: a second init() returns the same one.
  gpuEngine ??= requestGpuDevice().then((gpu) => {
    const runtime = new GpuRuntime(gpu);
    return { backend: new WebGpuBackend(runtime), runtime, adapter: gpu.adapter };
  });
  try {
    current = await gpuEngine;
  } catch (e) {
    gpuEngine = null;
    throw e;
  }
  return current;
}

export function engine(): Engine {
  if (!current) throw new Error('ser-webgpu is not initialised: call `await init()` first');
  return current;
}

export function defaultBackend(): Backend {
  return engine().backend;
}

// Finding a WebGPU device, the same way in Node (dawn.node from the `webgpu` package) and in a browser
// (navigator.gpu). Everything above this file sees only a GPUDevice.

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  features: string[];
}

export interface GpuDevice {
  device: GPUDevice;
  adapter: AdapterDescription;
  /** Whether the device was created with 'timestamp-query' (the profiler needs it). */
  hasTimestamps: boolean;
}

const NO_ADAPTER_HELP =
  'No WebGPU adapter was found. On Linux without a GPU, run scripts/setup.sh: it installs Mesa\'s lavapipe ' +
  '(CPU Vulkan driver, mesa-vulkan-drivers >= 25 from bookworm-backports) that Dawn finds by itself. ' +
  'In a browser, WebGPU must be enabled (Chrome/Edge 113+, or chromium --enable-unsafe-webgpu).';

async function navigatorGpu(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  if (typeof process === 'undefined' || !process.versions?.node) {
    throw new Error('This browser has no WebGPU (navigator.gpu is missing). ' + NO_ADAPTER_HELP);
  }
  // A variable module name keeps bundlers from pulling the native addon into the browser bundle.
  const moduleName = 'webgpu';
  const dawn = (await import(/* @vite-ignore */ moduleName)) as {
    create: (flags: string[]) => GPU;
    globals: Record<string, unknown>;
  };
  // GPUBufferUsage, GPUMapMode, ... are browser globals; dawn.node exports them separately.
  Object.assign(globalThis, dawn.globals);
  // dawn.node's instance must outlive every device made from it: if it were garbage-collected, Dawn would
  // tear down threads the device still uses (seen here as a crash in the middle of a read-back).
  dawnInstance ??= dawn.create([]);
  return dawnInstance;
}

let dawnInstance: GPU | undefined;

/** Requests the adapter's full limits: the defaults (128 MiB bindings, 16 KiB workgroup memory) are too small for the model. */
function wantedLimits(adapter: GPUAdapter): Record<string, number> {
  const names = [
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxComputeWorkgroupStorageSize',
    'maxComputeInvocationsPerWorkgroup',
    'maxComputeWorkgroupSizeX',
    'maxComputeWorkgroupSizeY',
    'maxStorageBuffersPerShaderStage',
  ] as const;
  const limits: Record<string, number> = {};
  for (const name of names) limits[name] = adapter.limits[name];
  return limits;
}

export async function requestGpuDevice(): Promise<GpuDevice> {
  const gpu = await navigatorGpu();
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error(NO_ADAPTER_HELP);
  const hasTimestamps = adapter.features.has('timestamp-query');
  // Subgroups let the CPU-driver GEMM share loads between SIMD lanes (src/kernels/gemm.ts); optional elsewhere.
  const optional: GPUFeatureName[] = ['timestamp-query', 'subgroups'];
  const device = await adapter.requestDevice({
    requiredLimits: wantedLimits(adapter),
    requiredFeatures: optional.filter((f) => adapter.features.has(f)),
  });
  device.lost.then((info) => {
    if (info.reason !== 'destroyed') console.error(`ser-webgpu: WebGPU device lost: ${info.message}`);
  });
  const info = adapter.info;
  return {
    device,
    hasTimestamps,
    adapter: {
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
      features: [...adapter.features].sort(),
    },
  };
}

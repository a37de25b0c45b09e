// Finding a WebGPU device, the same way in Node (dawn.node from the `webgpu` package) and in a browser
// (navigator.gpu), and describing it once: the device profile (what kind of adapter, its SIMD width, limits and
// features) is computed here when the device is made, and every kernel family reads its choices from it.

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  features: string[];
}

/** Which kernels suit an adapter, decided once per device (the one place that decides it):
 *  - 'tiled': a GPU: workgroup-memory tiles (the GEMM's tiled core, and the convolutions on it).
 *  - 'subgroup': a CPU driver with subgroups that names its SIMD width (lavapipe): lavapipe turns every load
 *    whose address differs per lane into a scalar loop over the lanes, so kernels that share loads between
 *    lanes by subgroup shuffles win (measured 2-3× the per-invocation kernels).
 *  - 'direct': other CPU drivers (SwiftShader): per-invocation register blocks, no barriers. */
export type KernelStyle = 'tiled' | 'subgroup' | 'direct';

export interface DeviceProfile {
  /** A CPU driver (lavapipe/llvmpipe, SwiftShader) or a GPU. */
  kind: 'cpu' | 'gpu';
  /** The subgroup size where the device has subgroups and the driver names its SIMD width, else null. */
  subgroupLanes: number | null;
  /** Whether the device was created with 'timestamp-query' (the profiler needs it). */
  timestamps: boolean;
  kernels: KernelStyle;
  limits: GPUSupportedLimits;
  features: ReadonlySet<string>;
}

export interface GpuDevice {
  device: GPUDevice;
  adapter: AdapterDescription;
  profile: DeviceProfile;
}

/** The same device described as a GPU, so that a runtime made on it takes a GPU's kernels: for checking and
 * measuring that path where there is no GPU (test/kernels/gpu-path.test.ts, the benchmark's host split). */
export function asGpu(gpu: GpuDevice): GpuDevice {
  const adapter = { ...gpu.adapter, vendor: 'nvidia', architecture: 'simulated', device: 'simulated GPU', description: 'simulated GPU' };
  return { ...gpu, adapter, profile: deviceProfile(adapter, gpu.device) };
}

/** Whether the adapter is a CPU driver (lavapipe/llvmpipe, SwiftShader). */
export function isCpuAdapter(adapter: Omit<AdapterDescription, 'features'>): boolean {
  const text = `${adapter.vendor} ${adapter.architecture} ${adapter.device} ${adapter.description}`.toLowerCase();
  return /llvmpipe|lavapipe|swiftshader|softpipe|software/.test(text);
}

/** The subgroup size of a CPU driver that names its SIMD width: llvmpipe's device is e.g.
 * "llvmpipe-llvm-15-0-6-256-bits-", whose subgroups are 256/32 = 8 lanes. Null when unknown. */
export function cpuSubgroupLanes(adapter: AdapterDescription): number | null {
  const bits = /llvmpipe.*?(\d+)-bits/i.exec(`${adapter.device} ${adapter.description}`);
  const width = bits ? Number(bits[1]) / 32 : 0;
  return [4, 8, 16].includes(width) ? width : null;
}

/** The profile of a device made from an adapter so described. */
export function deviceProfile(adapter: AdapterDescription, device: Pick<GPUDevice, 'features' | 'limits'>): DeviceProfile {
  const cpu = isCpuAdapter(adapter);
  const subgroupLanes = cpu && device.features.has('subgroups') ? cpuSubgroupLanes(adapter) : null;
  return {
    kind: cpu ? 'cpu' : 'gpu',
    subgroupLanes,
    timestamps: device.features.has('timestamp-query'),
    kernels: !cpu ? 'tiled' : subgroupLanes ? 'subgroup' : 'direct',
    limits: device.limits,
    features: device.features as ReadonlySet<string>,
  };
}

const NO_ADAPTER_HELP =
  'No WebGPU adapter was found. On Linux without a GPU, run scripts/setup.sh: it installs Mesa\'s lavapipe ' +
  '(CPU Vulkan driver, mesa-vulkan-drivers >= 25 from bookworm-backports) that Dawn finds by itself. ' +
  'In a browser, WebGPU must be enabled (Chrome/Edge 113+, or chromium --enable-unsafe-webgpu).';

/** Whether this runs in Node (dawn.node, files by path, the CLI's tuning file), not in a page. */
export const inNode = typeof process !== 'undefined' && !!process.versions?.node;

async function navigatorGpu(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  if (!inNode) {
    throw new Error('This browser has no WebGPU (navigator.gpu is missing). ' + NO_ADAPTER_HELP);
  }
  return nodeGpu();
}

/** dawn.node's GPU, made once per process (Node only; the benchmark installs it as navigator.gpu for tfjs too). */
export async function nodeGpu(): Promise<GPU> {
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
  // Dawn rounds timestamps down to 65.5 µs unless told not to (a browser's guard against timing attacks, which a
  // native process has no use for): the tuner and the profiler time kernels of a few µs by them.
  dawnInstance ??= dawn.create(['disable-dawn-features=timestamp_quantization']);
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
  // Subgroups let CPU-driver kernels share loads between SIMD lanes (KernelStyle 'subgroup'); optional elsewhere.
  const optional: GPUFeatureName[] = ['timestamp-query', 'subgroups'];
  const device = await adapter.requestDevice({
    requiredLimits: wantedLimits(adapter),
    requiredFeatures: optional.filter((f) => adapter.features.has(f)),
  });
  device.lost.then((info) => {
    if (info.reason !== 'destroyed') console.error(`ser-webgpu: WebGPU device lost: ${info.message}`);
  });
  const info = adapter.info;
  const description: AdapterDescription = {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    features: [...adapter.features].sort(),
  };
  return { device, adapter: description, profile: deviceProfile(description, device) };
}

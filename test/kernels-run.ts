// Which kernels a piece of work dispatched, read from the runtime's profiler (Node tests only; the adapter must
// have timestamp queries, which the callers check first).

import type { GpuRuntime } from '../src/gpu/runtime.js';

export async function kernelsRun(rt: GpuRuntime, work: () => Promise<void>): Promise<Set<string>> {
  const profiler = rt.enableProfiler();
  await rt.sync();
  await profiler.table();
  profiler.reset();
  await work();
  await rt.sync();
  const names = new Set((await profiler.table()).map((r) => r.kernel));
  rt.profiler = null;
  return names;
}

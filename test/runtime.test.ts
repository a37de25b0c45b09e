// The GPU runtime: errors that name the kernel, refusals before dispatch, ordering of dispatches and copies
// within a batch, the per-kernel profiler and the device timer.

import { beforeAll, describe, expect, it, vi } from 'vitest';
import * as ser from '../src/index.js';
import { BindingCache } from '../src/gpu/binding-cache.js';
import { BufferPool } from '../src/gpu/buffer-pool.js';
import { Params } from '../src/gpu/params.js';
import { GpuRuntime } from '../src/gpu/runtime.js';
import { allocate, gpuStorage } from '../src/gpu/storage.js';
import { WebGpuBackend, type Backend } from '../src/kernels/backend.js';
import * as kernels from '../src/kernels/index.js';
import { affine } from '../src/kernels/elementwise.js';

let rt: GpuRuntime;
let backend: Backend;
beforeAll(async () => {
  const engine = await ser.init();
  rt = engine.runtime!;
  backend = engine.backend;
});

// Writes 1 to a and 2 to b: binding one buffer as both is a WebGPU validation error at dispatch time.
const writeBoth = `struct P { n: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> b: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
  if (g.x < p.n) { a[g.x] = 1.0; b[g.x] = 2.0; }
}`;

describe('Params (uniform blocks)', () => {
  it('packs u32, i32 and f32 words in order, padded to 16 bytes, and keys by content', () => {
    const p = new Params().u32(7, 2 ** 32 - 1).i32(-3).f32(0.5, 1 / 3);
    const bytes = p.bytes();
    expect(bytes.byteLength).toBe(32);
    const view = new DataView(bytes);
    expect([view.getUint32(0, true), view.getUint32(4, true), view.getInt32(8, true)]).toEqual([7, 2 ** 32 - 1, -3]);
    expect([view.getFloat32(12, true), view.getFloat32(16, true)]).toEqual([0.5, Math.fround(1 / 3)]);
    expect(new Params().u32(1).bytes().byteLength).toBe(16);
    expect(p.words).toEqual(new Params().u32(7, 2 ** 32 - 1).i32(-3).f32(0.5, 1 / 3).words);
    expect(p.words).not.toEqual(new Params().u32(7, 2 ** 32 - 1).i32(-3).f32(0.5, 0.25).words);
  });

  it('grows past its first 16 words and refuses a fractional integer field', () => {
    const values = Array.from({ length: 40 }, (_, i) => i * 3);
    const view = new DataView(new Params().u32(...values).bytes());
    expect(values.map((_, i) => view.getUint32(4 * i, true))).toEqual(values);
    expect(() => new Params().u32(1, 2.5)).toThrow(/uniform field 1 \(u32\) must be an integer from 0 to 4294967295, got 2.5/);
  });

  it('refuses an integer its field cannot hold rather than wrapping it around', () => {
    const view = new DataView(new Params().u32(0, 2 ** 32 - 1).i32(-(2 ** 31), 2 ** 31 - 1).bytes());
    expect([0, 1].map((i) => view.getUint32(4 * i, true))).toEqual([0, 2 ** 32 - 1]);
    expect([2, 3].map((i) => view.getInt32(4 * i, true))).toEqual([-(2 ** 31), 2 ** 31 - 1]);
    expect(() => new Params().u32(-1)).toThrow(/uniform field 0 \(u32\) must be an integer from 0 to 4294967295, got -1/);
    expect(() => new Params().u32(3, 2 ** 32)).toThrow(/uniform field 1 \(u32\) .* got 4294967296/);
    expect(() => new Params().i32(2 ** 31)).toThrow(/uniform field 0 \(i32\) must be an integer from -2147483648 to 2147483647, got 2147483648/);
    expect(() => new Params().i32(-(2 ** 31) - 1)).toThrow(/\(i32\) .* got -2147483649/);
  });
});

describe('GPU runtime', () => {
  it('throws a WebGPU validation error at the next sync, naming the kernel and its shapes', async () => {
    const a = rt.allocate(256, 'a');
    const b = rt.allocate(256, 'b');
    const call = (kernel: string, buffers: GPUBuffer[]) => rt.dispatch({ kernel, shapes: 'a[64]', shader: writeBoth, params: new Params().u32(64), buffers, workgroups: [1] });
    call('test.fine', [a, b]);
    call('test.aliased', [a, a]);
    call('test.after', [a, b]);
    await expect(rt.sync()).rejects.toThrow(/test\.aliased a\[64\]/);
    // The error was the batch's: the runtime goes on; with debug groups (off by default) likewise.
    call('test.fine', [a, b]);
    await rt.sync();
    rt.debugGroups = true;
    try {
      call('test.aliased.grouped', [a, a]);
      await expect(rt.sync()).rejects.toThrow(/test\.aliased\.grouped a\[64\]/);
    } finally {
      rt.debugGroups = false;
    }
    rt.release(a);
    rt.release(b);
  });

  it("throws its own errors, not another runtime's on the device nor the application's, whatever the order of their scopes", async () => {
    // Error scopes are one stack per device: a scope left open across the other's calls would catch its errors.
    const other = new GpuRuntime(rt.gpu);
    const [a, b] = [rt.allocate(256, 'a'), rt.allocate(256, 'b')];
    const [c, d] = [other.allocate(256, 'c'), other.allocate(256, 'd')];
    const call = (on: GpuRuntime, kernel: string, buffers: GPUBuffer[]) => on.dispatch({ kernel, shapes: 'a[64]', shader: writeBoth, params: new Params().u32(64), buffers, workgroups: [1] });
    // A bind group short of a buffer is an error at its creation, raised while the batch records; the aliased
    // binding one at the batch's submit.
    call(rt, 'test.fine', [a, b]);
    call(other, 'test.other', [c, d]);
    call(rt, 'test.short', [a]);
    call(other, 'test.other', [c, d]);
    await other.sync();
    await expect(rt.sync()).rejects.toThrow(/test\.short a\[64\]/);
    call(rt, 'test.aliased', [a, a]);
    call(other, 'test.other', [c, d]);
    await other.sync();
    await expect(rt.sync()).rejects.toThrow(/test\.aliased a\[64\]/);
    // The application's scope, open across a batch of the runtime's: each keeps its own error.
    rt.device.pushErrorScope('validation');
    call(rt, 'test.aliased', [a, a]);
    rt.device.createBuffer({ label: 'the application', size: 4, usage: 0 });
    await expect(rt.sync()).rejects.toThrow(/test\.aliased a\[64\]/);
    expect((await rt.device.popErrorScope())?.message).toMatch(/the application/);
    rt.release(a);
    rt.release(b);
    other.release(c);
    other.release(d);
    other.trim();
  });

  it("keeps no staging buffer from a read that throws (its batch's or an earlier batch's error)", async () => {
    const staging = (rt as unknown as { staging: BufferPool }).staging;
    const a = rt.allocate(256, 'a');
    const b = rt.allocate(256, 'b');
    const aliased = () => rt.dispatch({ kernel: 'test.aliased', shapes: 'a[64]', shader: writeBoth, params: new Params().u32(64), buffers: [a, a], workgroups: [1] });
    await rt.read(b, 256); // a staging buffer of the size in the pool
    const before = staging.stats();
    for (let i = 0; i < 3; i++) {
      aliased();
      await expect(rt.read(b, 256)).rejects.toThrow(/test\.aliased a\[64\]/);
      aliased();
      rt.flush(); // an earlier batch's error
      await expect(rt.read(b, 256)).rejects.toThrow(/test\.aliased a\[64\]/);
    }
    expect(staging.stats().liveBuffers).toBe(before.liveBuffers);
    expect(staging.stats().allocatedBuffers).toBeLessThanOrEqual(before.allocatedBuffers);
    expect(new Float32Array(await rt.read(b, 256))).toHaveLength(64); // the runtime reads on
    rt.release(a);
    rt.release(b);
  });

  it('refuses workgroup counts over the device limit before recording anything, naming the kernel', () => {
    const a = rt.allocate(256, 'a');
    expect(() => rt.dispatch({ kernel: 'test.huge', shapes: 'a[9999999]', shader: writeBoth, params: new Params().u32(64), buffers: [a, a], workgroups: [70000] })).toThrow(
      /test\.huge a\[9999999\]: workgroups \[70000, 1, 1\] exceed/,
    );
    rt.release(a);
  });

  it('releases what a kernel allocated when its dispatch is refused, and throws the refusal', () => {
    // A kernel allocates its output, then dispatches: a refused dispatch (matmul's grid past 65535 before a296909)
    // left the output live for good. defineKernel releases what the kernel acquired and still holds. A runtime
    // told its device takes 2 workgroups a dimension refuses these kernels' grids of 4 and more.
    const limits = { ...rt.profile.limits, maxComputeWorkgroupsPerDimension: 2 };
    const narrow = new GpuRuntime({ ...rt.gpu, profile: { ...rt.profile, limits } });
    const on = new WebGpuBackend(narrow);
    const x = on.upload(new Float32Array(4096).fill(1));
    const live = on.counters().liveBuffers;
    expect(() => affine(on, x, 2, 1)).toThrow(/^elementwise\.affine \[4096\]: workgroups \[4, 1, 1\] exceed the device's 2 per dimension/);
    expect(() => kernels.softmax(on, x, 1024, 4)).toThrow(/^softmax.*exceed the device's 2 per dimension/);
    expect(on.counters().liveBuffers).toBe(live);
    on.release(x);
    narrow.trim();
  });

  it('precompiles the pipelines of recorded dispatches without running them (the tuner compiles its candidates so)', async () => {
    const [a, b] = [rt.allocate(256, 'a'), rt.allocate(256, 'b')];
    rt.clear(a, 256);
    const shader = writeBoth.replace('a[g.x] = 1.0;', 'a[g.x] = 3.0;'); // a text no other test compiled
    const call = () => rt.dispatch({ kernel: 'test.precompiled', shader, params: new Params().u32(64), buffers: [a, b], workgroups: [1] });
    const before = rt.counts.dispatches;
    await rt.precompile(call);
    expect(rt.counts.dispatches).toBe(before);
    expect(new Float32Array(await rt.read(a, 256))[0]).toBe(0); // recorded, not run
    const compile = vi.spyOn(rt.device, 'createComputePipeline');
    try {
      call();
      expect(compile).not.toHaveBeenCalled(); // the precompiled pipeline, from the cache
    } finally {
      compile.mockRestore();
    }
    expect(new Float32Array(await rt.read(a, 256))[0]).toBe(3);
    rt.release(a);
    rt.release(b);
  });

  it('keeps dispatches, copies and clears of one batch in order', async () => {
    const x = ser.tensor(new Float32Array([1, 2, 3, 4, 5]), [5]);
    const y = affine(backend, x.storage, 2, 1); // 3 5 7 9 11
    const copy = allocate(rt, 5, 'copy');
    rt.copy(gpuStorage(y).buffer, copy.buffer, 20);
    const z = affine(backend, copy, 10, 0); // 30 50 70 90 110
    rt.clear(gpuStorage(y).buffer, 8); // y: 0 0 7 9 11, after z has read the copy
    const w = affine(backend, y, 1, 1); // 1 1 8 10 12
    expect([...(await ser.engine().backend.download(z))]).toEqual([30, 50, 70, 90, 110]);
    expect([...(await ser.engine().backend.download(w))]).toEqual([1, 1, 8, 10, 12]);
    for (const s of [y, copy, z, w]) rt.release(gpuStorage(s).buffer);
    x.dispose();
  });

  it('reads, writes and binds a view at its offset, and refuses one misaligned, outside its base, or released', async () => {
    const align = backend.viewAlignment;
    const base = backend.upload(new Float32Array(3 * align).fill(-1));
    const view = backend.view(base, align, 5);
    backend.write(view, new Float32Array([1, 2, 3, 4, 5]));
    expect([...(await backend.download(view))]).toEqual([1, 2, 3, 4, 5]);
    const doubled = affine(backend, view, 2, 0);
    expect([...(await backend.download(doubled))]).toEqual([2, 4, 6, 8, 10]);
    const whole = await backend.download(base);
    expect([whole[align - 1], whole[align + 5]]).toEqual([-1, -1]);
    expect(() => backend.view(base, 1, 4)).toThrow(/not aligned to \d+ bytes/);
    expect(() => backend.view(base, 2 * align, align + 1)).toThrow(/outside its base of \d+/);
    expect(() => backend.release(view)).toThrow(/a view of buffer .* was released/);
    for (const s of [doubled, base]) backend.release(s);
  });

  it('counts dispatches and submits, in total and by kernel', async () => {
    await rt.sync();
    const x = ser.tensor(new Float32Array(203).map((_, i) => (i % 7) - 3), [203], { requiresGrad: true });
    const before = { ...rt.counts };
    rt.kernelCounts = new Map();
    // Known kernels: relu and add (same shapes) are one map each, a sum of 203 values one level of sumTo (no partials under 256).
    const loss = ser.sum(ser.add(ser.relu(x), x));
    const byKernel = Object.fromEntries(rt.kernelCounts);
    rt.kernelCounts = null;
    expect(rt.counts.dispatches - before.dispatches).toBe(3);
    expect(byKernel).toEqual({ 'elementwise.unary': 1, 'elementwise.binary': 1, 'elementwise.sumTo': 1 });
    expect(rt.counts.submits).toBe(before.submits); // recorded, not yet submitted
    await rt.sync();
    expect(rt.counts.submits).toBe(before.submits + 1);
    loss.dispose();
    x.dispose();
  });

  it('hands out the oldest free buffer of a size whatever the order of releases, so a repeated step binds the same buffers', () => {
    const pool = new BufferPool(rt.device, GPUBufferUsage.STORAGE);
    const made = [0, 1, 2].map(() => pool.acquire(1000, 'x'));
    for (const order of [[0, 1, 2], [2, 0, 1], [1, 2, 0]]) {
      order.forEach((i) => pool.release(made[i]));
      pool.afterSubmit();
      expect([0, 1, 2].map(() => pool.acquire(1000, 'x'))).toEqual(made);
    }
    made.forEach((buffer) => pool.release(buffer));
    pool.afterSubmit();
    pool.trim();
  });

  it("refuses a tensor larger than one storage binding before recording anything, and never rounds a size that fits past the limit", async () => {
    const max = rt.device.limits.maxStorageBufferBindingSize;
    const values = Math.floor(max / 4) + 64;
    expect(() => ser.zeros([values])).toThrow(new RegExp(`${values * 4} bytes .* maxStorageBufferBindingSize, ${max} bytes`));
    // Named as the caller called it: "fill: …" had named the kernel behind zeros() and ones().
    expect(() => ser.ones([values])).toThrow(new RegExp(`^ones: ${values * 4} bytes`));
    expect(() => ser.zeros([values], { name: 'grid' })).toThrow(new RegExp(`^grid: ${values * 4} bytes`));
    const pool = new BufferPool(rt.device, GPUBufferUsage.STORAGE);
    const nearly = pool.acquire(max - 4, 'x');
    expect(nearly.size).toBeLessThanOrEqual(max);
    pool.release(nearly);
    pool.afterSubmit();
    pool.trim();
    // The batch is still whole: work recorded after the refusal runs.
    const y = ser.relu(ser.tensor([-1, 2], [2]));
    expect(Array.from(await y.toArray())).toEqual([0, 2]);
    y.dispose();
  });

  it('reports a buffer whose creation ran out of memory, and never hands it out again once it comes back', async () => {
    let failNext = true;
    const destroyed: string[] = [];
    const fake = {
      limits: { maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2 ** 27 },
      pushErrorScope: () => undefined,
      popErrorScope: async () => (failNext ? ({ message: 'out of memory' } as GPUError) : null),
      createBuffer: ({ size, label }: GPUBufferDescriptor) => ({ size, label, destroy: () => void destroyed.push(label!) }) as unknown as GPUBuffer,
    } as unknown as GPUDevice;
    const reported: Promise<GPUError | null>[] = [];
    const pool = new BufferPool(fake, GPUBufferUsage.STORAGE, (e) => reported.push(e));
    const dead = pool.acquire(1000, 'first');
    expect((await Promise.all(reported)).map((e) => e?.message ?? null)).toEqual(['out of memory']);
    failNext = false;
    pool.release(dead);
    pool.afterSubmit();
    expect(destroyed).toEqual(['first']);
    const next = pool.acquire(1000, 'second');
    expect(next).not.toBe(dead);
    expect(pool.stats()).toEqual({ liveBuffers: 1, liveBytes: 1024, allocatedBuffers: 1, allocatedBytes: 1024 });
    // Found dead only after it was pooled: passed over when a buffer of its size is next asked for.
    failNext = true;
    const late = pool.acquire(5000, 'late');
    pool.release(late);
    pool.afterSubmit();
    await Promise.all(reported);
    failNext = false;
    expect(pool.acquire(5000, 'after')).not.toBe(late);
    expect(destroyed).toEqual(['first', 'late']);
  });

  it('writes volatile params into recycled uniforms: each dispatch of a batch sees its own values, and later batches reuse the buffers', async () => {
    const addV = `struct P { n: u32, v: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> a: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) { if (g.x < p.n) { a[g.x] += p.v; } }`;
    const a = rt.allocate(256, 'a');
    rt.clear(a, 256);
    const add = (v: number) => rt.dispatch({ kernel: 'test.volatile', shader: addV, params: () => new Params().u32(64).f32(v), buffers: [a], workgroups: [1] });
    const stats = () => (rt as unknown as { bindings: BindingCache }).bindings.stats();
    // Step counts of a few steps: 1 + 2 + 3 in one batch, then 10 + 20 + 30 in the next, on the same buffers.
    [1, 2, 3].forEach(add);
    await rt.sync();
    const made = stats().volatileUniforms;
    [10, 20, 30].forEach(add);
    expect(stats().volatileUniforms).toBe(made);
    expect([...new Set(new Float32Array(await rt.read(a, 256)).slice(0, 64))]).toEqual([66]);
    rt.release(a);
  });

  it('profiles every dispatch: calls, time and share per kernel', async (ctx) => {
    ctx.skip(!rt.profile.timestamps, 'this adapter has no timestamp queries to profile with');
    const profiler = rt.enableProfiler();
    const x = ser.tensor(new Float32Array(4096).fill(1), [4096]);
    for (let i = 0; i < 5; i++) rt.release(gpuStorage(affine(backend, x.storage, 2, 1)).buffer);
    await rt.sync();
    const table = await profiler.table();
    const row = table.find((r) => r.kernel === 'elementwise.affine');
    expect(row?.calls).toBe(5);
    expect(row!.ms).toBeGreaterThan(0);
    expect(table.reduce((s, r) => s + r.share, 0)).toBeCloseTo(1, 6);
    x.dispose();
    rt.profiler = null;
  });

  it('times recorded work on the device clock, from its first pass to its last, and leaves nothing behind when the recording fails', async (ctx) => {
    ctx.skip(!rt.profile.timestamps, 'this adapter has no timestamp queries to time with');
    const loop = `struct P { n: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> a: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
  for (var i = 0u; i < p.n; i++) { a[g.x] = fma(a[g.x], 0.5, 1.0); }
}`;
    const out = allocate(rt, 64 * 64, 'timed');
    const spin = (loops: number) => rt.dispatch({ kernel: 'test.spin', shader: loop, params: new Params().u32(loops), buffers: [out.buffer], workgroups: [64] });
    const light = await rt.timeOnDevice(() => spin(10));
    expect(light).toBeGreaterThan(0);
    // The clear ends the first pass: the span reaches the end of the heavy kernel in the second.
    const t0 = performance.now();
    const span = await rt.timeOnDevice(() => {
      spin(10);
      rt.clear(out.buffer, 16);
      spin(100_000);
    });
    expect(span).toBeGreaterThan(10 * light);
    expect(span).toBeLessThan(performance.now() - t0);
    await expect(rt.timeOnDevice(() => { throw new Error('recording failed'); })).rejects.toThrow('recording failed');
    await expect(rt.timeOnDevice(() => {})).rejects.toThrow('recorded no dispatch');
    expect(await rt.timeOnDevice(() => spin(10))).toBeGreaterThan(0);
    rt.release(out.buffer);
  });

  it('caches bind groups and uniforms, bounded, destroying evicted uniforms only after the submit that binds them', async () => {
    const device = rt.device;
    const module = device.createShaderModule({
      code: `struct P { n: u32, v: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> a: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) { if (g.x < p.n) { a[g.x] += p.v; } }`,
    });
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    const a = rt.allocate(256, 'a');
    rt.clear(a, 256);
    rt.flush();
    const cache = new BindingCache(device, { uniforms: 3, bindGroups: 5 });
    const group = (v: number) => cache.bindGroup(pipeline, cache.uniformFor(new Params().u32(64).f32(v), false), [a], () => 'add');
    expect(group(1)).toBe(group(1));
    expect(group(2)).not.toBe(group(1));
    device.pushErrorScope('validation');
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    for (let v = 1; v <= 10; v++) {
      pass.setBindGroup(0, group(v));
      pass.dispatchWorkgroups(1);
      expect(cache.stats().uniforms).toBeLessThanOrEqual(3);
      expect(cache.stats().bindGroups).toBeLessThanOrEqual(5);
    }
    pass.end();
    device.queue.submit([encoder.finish()]);
    cache.afterSubmit();
    expect(await device.popErrorScope()).toBeNull();
    const sums = new Float32Array(await rt.read(a, 256));
    expect([...new Set(sums.slice(0, 64))]).toEqual([55]);
    rt.release(a);
  });
});

// Kernel tuning: the tuner keeps the rule while off, queues new problems while on and then picks the fastest
// candidate by timing it; tuned convolutions still match the CPU reference; choices survive a save and a load.

import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as ser from '../src/index.js';
import { loadTuning, saveTuning } from '../src/cli/tuning-file.js';
import { Params, type GpuRuntime } from '../src/engine/runtime.js';
import { Tuner } from '../src/engine/tuner.js';
import { conv1d } from '../src/kernels/conv1d.js';
import { zeros } from '../src/kernels/storage.js';
import { assertClose, randn } from './suite/harness.js';

let rt: GpuRuntime;
beforeAll(async () => {
  rt = (await ser.init()).runtime!;
});
afterEach(() => {
  rt.tuner.enabled = false;
});

// Loops `p.n` times per invocation: the cost of a candidate is its uniform.
const busy = `struct P { n: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> a: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
  var s = 0.0;
  for (var i = 0u; i < p.n; i++) { s = fma(s, 0.999, f32(i)); }
  a[g.x] = s;
}`;

describe('tuner', () => {
  const trialOf = (loops: number[]) => () => {
    const a = rt.allocate(64 * 64 * 4, 'trial');
    return {
      run: (i: number) => {
        if (loops[i] < 0) throw new Error('this candidate cannot run');
        rt.dispatch({ kernel: 'test.busy', shader: busy, params: new Params().u32(loops[i]), buffers: [a], workgroups: [64] });
      },
      dispose: () => rt.release(a),
    };
  };
  const candidates = [
    { name: 'slow', value: 'slow' },
    { name: 'fast', value: 'fast' },
    { name: 'broken', value: 'broken' },
  ];

  it('keeps the rule while off, and queues nothing', () => {
    const tuner = new Tuner();
    expect(tuner.choose('p', 'slow', () => candidates, trialOf([20000, 10, -1]))).toBe('slow');
    expect(tuner.pending).toBe(0);
  });

  it('while on, queues a new problem, times its candidates and then answers with the fastest', async () => {
    const tuner = new Tuner();
    tuner.enabled = true;
    const saved: string[] = [];
    tuner.onTuned = async (results) => void saved.push(...results.map((r) => r.problem));
    expect(tuner.choose('p', 'slow', () => candidates, trialOf([20000, 10, -1]))).toBe('slow');
    expect(tuner.pending).toBe(1);
    const [result] = await tuner.tune(rt);
    expect(saved).toEqual(['p']);
    expect(result.problem).toBe('p');
    expect(result.chosen).toBe('fast');
    expect(result.ms.fast).toBeLessThan(result.ms.slow);
    expect(result.ms.broken).toBe(Infinity);
    expect(tuner.pending).toBe(0);
    expect(tuner.choose('p', 'slow', () => candidates, trialOf([20000, 10, -1]))).toBe('fast');
    // Saved choices come back in another tuner; a name no candidate has falls back to the rule.
    const other = new Tuner();
    other.enabled = true;
    other.load({ ...tuner.choices(), q: 'gone' });
    expect(other.choose('p', 'slow', () => candidates, trialOf([1, 1, 1]))).toBe('fast');
    expect(other.choose('q', 'slow', () => candidates, trialOf([1, 1, 1]))).toBe('slow');
  });

  it('tunes the convolution on this adapter, and the chosen kernel matches the CPU reference', async (ctx) => {
    const { backend } = ser.engine();
    const [N, Cin, L, Cout, K] = [2, 16, 301, 24, 3];
    const p = { stride: 1, padding: 1, dilation: 1 };
    const x = randn(N * Cin * L, 31);
    const w = randn(Cout * Cin * K, 32);
    const [gx, gw] = [backend.upload(x), backend.upload(w)];
    rt.tuner.enabled = true;
    backend.release(conv1d(rt, gx, [N, Cin, L], gw, [Cout, Cin, K], null, p));
    const results = await ser.tunePending();
    const tuned = results.find((r) => r.problem.startsWith('conv1d.forward x[2,16,301]'));
    // Every adapter has the per-invocation kernel; lavapipe adds the subgroup one, GPUs the tiled core.
    // SwiftShader offers a single candidate: nothing to tune there.
    ctx.skip(Object.keys(tuned?.ms ?? {}).length < 2, 'this adapter has a single conv1d candidate for this shape');
    expect(tuned!.ms).toHaveProperty('direct');
    const y = conv1d(rt, gx, [N, Cin, L], gw, [Cout, Cin, K], null, p);
    assertClose(await backend.download(y), ser.reference.conv1d(x, [N, Cin, L], w, [Cout, Cin, K], null, p), 1e-5, `conv1d tuned to ${tuned!.chosen}`);
    for (const s of [gx, gw, y]) backend.release(s);
  });

  it('saves choices per adapter in one file and loads them back; an unreadable file counts as empty', async () => {
    const engine = ser.engine();
    const path = join(await mkdtemp(join(tmpdir(), 'ser-tuning-')), 'tuning.json');
    expect(await loadTuning(engine, path)).toBe(0);
    rt.tuner.load({ 'gemm 1x2x3': 'tiled 32x32 k16' });
    await saveTuning(engine, path);
    const file = JSON.parse(await readFile(path, 'utf8'));
    const [key] = Object.keys(file);
    expect(key).toContain(engine.adapter!.vendor);
    expect(file[key]['gemm 1x2x3']).toBe('tiled 32x32 k16');
    expect(await loadTuning(engine, path)).toBeGreaterThanOrEqual(1);
    await writeFile(path, '{ not json');
    expect(await loadTuning(engine, path)).toBe(0);
  });

  it('gives trials zeroed inputs, even in reused pool buffers', async () => {
    rt.release(rt.upload(new Float32Array(8).fill(7), 'dirty'));
    await rt.sync();
    const [z] = zeros(rt, [8], 'trial');
    expect([...new Float32Array(await rt.read(z.buffer, 32))]).toEqual(new Array(8).fill(0));
    rt.release(z.buffer);
  });
});

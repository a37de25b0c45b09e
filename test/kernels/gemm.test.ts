import { describe, expect, it } from 'vitest';
import * as ser from '../../src/index.js';
import { configName, gemmCandidates, gemmWithConfig, splitConfigs, splitServes, TILED_CONFIGS, tiledConfigsFor, type GemmConfig, type GemmTileConfig } from '../../src/kernels/gemm.js';
import { tiledAligned, tiledGemmCore, tiledSlabBytes, tiledTile } from '../../src/kernels/tiled-gemm-core.js';
import { assertClose, randn } from '../suite/harness.js';

// Initialised before the cases are defined, so that a case this adapter cannot run is skipped visibly.
const engine = await ser.init();
const lanes = engine.runtime?.profile.subgroupLanes ?? null;

// The suite (test/kernels/suite.test.ts) runs the kernel this adapter picks; these run every kernel, whatever the
// adapter, so that the GPU tiles are checked on lavapipe and the CPU kernels on a GPU. (Node only: it reaches into src/kernels.)
const ALL_FLAGS: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]];
const tiledConfig = (name: string) => TILED_CONFIGS.find((c) => configName(c) === name)!;
const CONFIGS: { name: string; config: GemmConfig; flags: [boolean, boolean][] }[] = [
  // Every tiled configuration the tuner may choose, with every transpose (they change the staging, which each
  // configuration writes out for itself). lavapipe compiles each in 1-3 s.
  ...TILED_CONFIGS.map((config) => ({ name: configName(config), config, flags: ALL_FLAGS })),
  // Odd layouts that no candidate has: 15 threads, non-square blocks, slabs that the threads do not divide
  // (the last staged element is guarded), one and two buffers.
  { name: 'tiled, odd layout 20x24 k3', config: { kernel: 'tiled', wgX: 3, wgY: 5, rowVecs: 1, colVecs: 2, tileK: 3 }, flags: ALL_FLAGS },
  { name: 'tiled, odd layout 40x12 k5 db', config: { kernel: 'tiled', wgX: 3, wgY: 5, rowVecs: 2, colVecs: 1, tileK: 5, doubleBuffer: true }, flags: ALL_FLAGS },
  // Split reductions (aligned shapes only): the partial products and their sum, with bias and relu after it.
  { name: 'tiled 64x128 8x8 k8 split2', config: { ...tiledConfig('tiled 64x128 8x8 k8'), splitK: 2 }, flags: ALL_FLAGS },
  { name: 'tiled 32x32 4x4 k16 split4', config: { ...tiledConfig('tiled 32x32 4x4 k16'), splitK: 4 }, flags: [[false, false], [true, true]] },
  // Reductions sliced over the workgroup's z (every case ends on a round where some slice has no slab: K of 1, 3
  // and several slabs plus a remainder), also in 3 slices of an odd layout (its register blocks summed in two
  // rounds, the slabs holding 7 of its 8 vec4s a thread) and within each workgroup of a split.
  { name: 'tiled 64x64 8x4 k16 sliced2', config: { ...tiledConfig('tiled 64x64 8x4 k16'), kSlices: 2 }, flags: [[false, false], [true, true]] },
  { name: 'tiled 32x32 4x4 k16 sliced4', config: { ...tiledConfig('tiled 32x32 4x4 k16'), kSlices: 4 }, flags: [[false, false], [true, true]] },
  { name: 'tiled, odd layout 20x24 k3 sliced3', config: { kernel: 'tiled', wgX: 3, wgY: 5, rowVecs: 1, colVecs: 2, tileK: 3, kSlices: 3 }, flags: [[false, true], [true, false]] },
  { name: 'tiled 64x128 8x8 k8 split2 sliced2', config: { ...tiledConfig('tiled 64x128 8x8 k8'), splitK: 2, kSlices: 2 }, flags: [[true, false]] },
  // Operands read along k transposed first (any shape: the transposed product takes the aligned core where it is
  // whole tiles, the generic one elsewhere), with every transpose, so once with nothing to transpose.
  { name: 'tiled 64x64 8x8 k16 transposed', config: { ...tiledConfig('tiled 64x64 8x8 k16'), transposeFirst: true }, flags: ALL_FLAGS },
  { name: 'tiled 32x32 4x4 k16 transposed', config: { ...tiledConfig('tiled 32x32 4x4 k16'), transposeFirst: true }, flags: ALL_FLAGS },
  { name: 'direct 128×128, 16×16/thread', config: { kernel: 'direct', wgX: 8, wgY: 8, rowVecs: 4, colVecs: 4, tileK: 4 }, flags: ALL_FLAGS },
  { name: 'direct 64×32, 8×4/thread', config: { kernel: 'direct', wgX: 8, wgY: 8, rowVecs: 2, colVecs: 1, tileK: 4 }, flags: [[true, false]] },
  { name: 'direct 32×32, 4×4/thread', config: { kernel: 'direct', wgX: 8, wgY: 8, rowVecs: 1, colVecs: 1, tileK: 4 }, flags: [[false, false], [true, true]] },
];

describe('gemm: every kernel on this adapter', () => {
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [17, 63, 3],
    [130, 67, 29],
    [16, 258, 7],
    [257, 300, 9],
    [140, 131, 37], // K past several slabs of every depth, with a remainder
  ];
  // Shapes of whole tiles, which take the tiled core's aligned specialisation (vec4 staging, no bounds checks):
  // two row tiles, one or two column tiles, K of several slabs; with and without bias and relu.
  // A split reduction takes only these, each split of K a whole number of slabs.
  const alignedShapes = (config: GemmConfig): [number, number, number, boolean][] => {
    if (config.kernel !== 'tiled' || config.tileK % 4 !== 0) return [];
    const { tileM, tileN } = tiledTile(config);
    const splits = config.splitK ?? 1;
    const shapes: [number, number, number, boolean][] = [
      [2 * tileM, tileN, 3 * splits * config.tileK, true],
      [tileM, 2 * tileN, splits * config.tileK, false],
    ];
    for (const [M, N, K] of shapes) expect(splits > 1 ? splitServes(config, M, N, K) : tiledAligned(config, M, N, K), `${M}x${N}x${K} aligned`).toBe(true);
    return shapes;
  };
  const run = async (config: GemmConfig, flags: [boolean, boolean][]) => {
    if (!engine.runtime) throw new Error('gemm kernels need the WebGPU backend');
    const backend = engine.backend;
    let seed = 9100;
    for (const [transA, transB] of flags) {
      const anyShapes = config.kernel !== 'subgroup' && config.splitK ? [] : shapes;
      for (const [M, N, K, fused] of [...anyShapes.map(([M, N, K]): [number, number, number, boolean] => [M, N, K, true]), ...alignedShapes(config)]) {
        const a = randn(M * K, seed++);
        // With the fused relu, a NaN at op(A)[0][0] (a[0] in either layout) makes C's row 0 NaN: the relu must keep
        // it (torch does; max(x, 0) may drop it).
        if (fused) a[0] = NaN;
        const b = randn(K * N, seed++);
        const bias = fused ? randn(N, seed++) : undefined;
        const o = { M, N, K, transA, transB, ...(fused ? { activation: 'relu' as const } : {}) };
        const [ga, gb, gbias] = [backend.upload(a), backend.upload(b), bias && backend.upload(bias)];
        const out = gemmWithConfig(engine.runtime, ga, gb, { ...o, bias: gbias }, config);
        const what = `${configName(config)} transA=${transA} transB=${transB} M=${M} N=${N} K=${K}${fused ? ' bias relu' : ''}`;
        const [got, expected] = [await backend.download(out), ser.reference.gemm(a, b, { ...o, bias })];
        const nanRows = fused ? N : 0;
        for (const [c, whose] of [[got, ''], [expected, ' (the CPU reference)']] as const) {
          const kept = Array.from(c.subarray(0, nanRows), Number.isNaN).filter(Boolean).length;
          expect(kept, `${what}${whose}: NaN kept by the relu in row 0`).toBe(nanRows);
        }
        assertClose(got.subarray(nanRows), expected.subarray(nanRows), 1e-5, what);
        for (const s of [ga, gb, gbias, out]) if (s) backend.release(s);
      }
    }
  };
  for (const { name, config, flags } of CONFIGS) it(name, () => run(config, flags));
  it.skipIf(!lanes)('subgroup kernel (skipped where the adapter has no subgroups or does not name its SIMD width)', async () => {
    if (!lanes) throw new Error('unreachable: skipped');
    await run({ kernel: 'subgroup', lanes, rowGroups: 2, cols: 4 }, [[false, false], [true, false], [false, true], [true, true]]);
    await run({ kernel: 'subgroup', lanes, rowGroups: 1, cols: 1 }, [[true, true]]);
    await run({ kernel: 'subgroup', lanes, rowGroups: Math.min(4, 32 / lanes), cols: 4 }, [[false, true]]);
  });
});

// An output more tiles wide than one dispatch dimension holds (65535 workgroups): the grid [column tiles, row tiles]
// was refused after C had been allocated, a buffer never released ('workgroups [65625, 1, 1] exceed …' for matmul
// [2,3]·[3,2100000] on lavapipe); the tiles are folded into 2-D now (tileGrid). Two rows and K of 3 keep each
// product at about a second on lavapipe and its 2.1 M-column C (17 MB) within one storage binding.
describe('gemm: an output over 65535 tiles wide', () => {
  const wideN = (tileN: number) => 65535 * tileN + 5; // a part tile past 65535 whole ones
  // The subgroup and direct kernels' blocks that their rules give 2 rows, and the GPU's thinnest tile.
  const direct: GemmTileConfig = { kernel: 'direct', wgX: 8, wgY: 1, rowVecs: 1, colVecs: 1, tileK: 4 };
  const kernels: { config: GemmConfig; tileN: number }[] = [
    ...(lanes ? [{ config: { kernel: 'subgroup', lanes, rowGroups: 1, cols: 4 } as const, tileN: 4 * lanes }] : []),
    ...[direct, tiledConfig('tiled 32x32 4x4 k16')].map((config) => ({ config, tileN: tiledTile(config).tileN })),
  ];
  for (const { config, tileN } of kernels) {
    it(`${configName(config)}: ${wideN(tileN)} columns, plain and transposed, with bias and relu, as the CPU reference`, async () => {
      const backend = engine.backend;
      const [M, N, K] = [2, wideN(tileN), 3];
      let seed = 9300;
      for (const [transA, transB] of [[false, false], [true, true]]) {
        const [a, b, bias] = [randn(M * K, seed++), randn(K * N, seed++), randn(N, seed++)];
        const o = { M, N, K, transA, transB, activation: 'relu' as const };
        const [ga, gb, gbias] = [backend.upload(a), backend.upload(b), backend.upload(bias)];
        const out = gemmWithConfig(engine.runtime!, ga, gb, { ...o, bias: gbias }, config);
        assertClose(await backend.download(out), ser.reference.gemm(a, b, { ...o, bias }), 1e-5, `${configName(config)} transA=${transA} transB=${transB}`);
        for (const s of [ga, gb, gbias, out]) backend.release(s);
      }
    });
  }

  it('matmul and linear, forward and backward, as the CPU reference, every buffer released after', async () => {
    // 2.1 M columns: past 65535 tiles of 32 (lavapipe's kernels); the outputs and gradients 2.1 M wide (matmul's
    // dB, linear's dx and dW), and 2.1 M tall (linear's dW with 2.1 M outputs, whose row tiles were folded before).
    // Sums over the 2.1 M columns (matmul's dA, linear's output over N features) are float32 on the device: 1e-4.
    const backend = engine.backend;
    const N = 65535 * 32 + 5;
    const live = backend.counters().liveBuffers;
    const random = (shape: number[], seed: number) => {
      const values = randn(shape.reduce((x, y) => x * y, 1), seed);
      return { values, t: ser.tensor(values, shape, { requiresGrad: true }) };
    };
    const [a, b, dy] = [random([2, 3], 1), random([3, N], 2), random([2, N], 3)];
    const y = ser.matmul(a.t, b.t);
    await y.backward(dy.t);
    const want = ser.reference.gemmBackward(a.values, b.values, dy.values, { M: 2, N, K: 3 });
    assertClose(await y.toArray(), ser.reference.gemm(a.values, b.values, { M: 2, N, K: 3 }), 1e-5, 'matmul [2,3]·[3,N]');
    assertClose(await a.t.grad!.toArray(), want.da, 1e-4, 'matmul dA');
    assertClose(await b.t.grad!.toArray(), want.db, 1e-5, 'matmul dB');
    // linear over N input features (dx and dW N wide), then to N output features (y N wide, dW N tall).
    const [x, w, bias, dz] = [random([2, N], 4), random([3, N], 5), random([3], 6), random([2, 3], 7)];
    const z = ser.linear(x.t, w.t, bias.t);
    await z.backward(dz.t);
    const wantZ = ser.reference.gemmBackward(x.values, w.values, dz.values, { M: 2, N: 3, K: N, transB: true });
    assertClose(await z.toArray(), ser.reference.gemm(x.values, w.values, { M: 2, N: 3, K: N, transB: true, bias: bias.values }), 1e-4, 'linear N → 3');
    assertClose(await x.t.grad!.toArray(), wantZ.da, 1e-5, 'linear N → 3: dx');
    assertClose(await w.t.grad!.toArray(), wantZ.db, 1e-5, 'linear N → 3: dW');
    const [wide, dwide] = [random([N, 3], 8), random([2, N], 9)];
    const u = ser.linear(a.t, wide.t);
    await u.backward(dwide.t);
    const wantU = ser.reference.gemmBackward(a.values, wide.values, dwide.values, { M: 2, N, K: 3, transB: true });
    assertClose(await u.toArray(), ser.reference.gemm(a.values, wide.values, { M: 2, N, K: 3, transB: true }), 1e-5, 'linear 3 → N');
    assertClose(await wide.t.grad!.toArray(), wantU.db, 1e-5, 'linear 3 → N: dW');
    for (const t of [a, b, dy, x, w, bias, dz, wide, dwide].map((r) => r.t)) {
      t.grad?.dispose();
      t.dispose();
    }
    for (const t of [y, z, u]) t.dispose();
    expect(backend.counters().liveBuffers).toBe(live);
  });

  // What cannot run is an output past one storage binding (on lavapipe 128 MiB, reached below MAX_TENSOR_ELEMENTS).
  const limits = engine.runtime!.profile.limits;
  const bindingLimit = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const N = Math.floor(bindingLimit / 32) + 1; // 8 rows of N floats: 32·N bytes, just past the limit
  it.skipIf(8 * N > ser.MAX_TENSOR_ELEMENTS)('refuses an output past one storage binding before allocating, naming the op and its operands', () => {
    const backend = engine.backend;
    const [a, b, x, w] = [ser.zeros([8, 1], { name: 'a' }), ser.zeros([1, N], { name: 'b' }), ser.zeros([N, 1], { name: 'x' }), ser.zeros([8, 1], { name: 'w' })];
    const { liveBuffers, allocatedBuffers } = backend.counters();
    expect(() => ser.matmul(a, b)).toThrow(new RegExp(`^matmul: its output \\[8,${N}\\] from a\\[8,1\\] · b\\[1,${N}\\] would be ${32 * N} bytes, more than this adapter's \\w+, ${bindingLimit} bytes`));
    expect(() => ser.linear(x, w)).toThrow(new RegExp(`^linear: its output \\[${N},8\\] from input x\\[${N},1\\] and weight w\\[8,1\\] would be ${32 * N} bytes`));
    expect(backend.counters()).toMatchObject({ liveBuffers, allocatedBuffers });
    for (const t of [x, w, a, b]) t.dispose();
  });
});

describe('gemm: the tiled core as written out and offered', () => {
  it('holds no private array in any configuration (every register is a named variable)', () => {
    for (const config of TILED_CONFIGS) {
      const text = tiledGemmCore(config);
      expect(text.match(/var<workgroup>/g)?.length).toBe(2);
      expect(text, configName(config)).not.toMatch(/var(?!<workgroup>)[^;]*array</);
      if (config.tileK % 4 !== 0) continue;
      for (const [aRowsAdjacent, bColsAdjacent] of ALL_FLAGS) {
        const aligned = tiledGemmCore(config, { aRowsAdjacent, bColsAdjacent });
        expect(aligned, configName(config)).not.toMatch(/var(?!<workgroup>)[^;]*array</);
        // No bounds checks: the aligned core calls none of the generic operand functions.
        expect(aligned, configName(config)).not.toMatch(/\b(loadA|loadB|store|storeVec)\(/);
        // An operand read along its side goes into the slab as whole vec4s; one read along k, a component at a time.
        const scattered = (name: string) => new RegExp(`slab${name}\\[[^\\]]*\\]\\[c${name}`).test(aligned);
        expect(scattered('A'), `${configName(config)} A`).toBe(!aRowsAdjacent);
        expect(scattered('B'), `${configName(config)} B`).toBe(!bColsAdjacent);
      }
    }
  });

  it('refuses a split reduction on a product that is not whole tiles, naming its shape', () => {
    const backend = engine.backend;
    const [a, b] = [backend.upload(randn(17 * 40, 1)), backend.upload(randn(40 * 33, 2))];
    expect(() => gemmWithConfig(engine.runtime!, a, b, { M: 17, N: 33, K: 40 }, { ...tiledConfig('tiled 64x128 8x8 k8'), splitK: 2 })).toThrow(/split2 needs whole tiles .*M=17 N=33 K=40/);
    [a, b].forEach((s) => backend.release(s));
  });

  it('offers no tile too wide for a thin product, and the direct kernel there', () => {
    const profile = engine.runtime!.profile;
    const gpu = { ...profile, kernels: 'tiled' as const };
    const names = (M: number, N: number) => gemmCandidates(gpu, M, N, 4096).map(configName);
    expect(names(4096, 4096)).toEqual(expect.arrayContaining(TILED_CONFIGS.filter((c) => tiledSlabBytes(c) <= profile.limits.maxComputeWorkgroupStorageSize).map(configName)));
    // The classifier's 16×4 output: the rule's 32×32 tile and the direct kernel, nothing wider.
    expect(names(16, 4)).toEqual(['tiled 32x32 4x4 k16', 'direct 16x4']);
    // 12 columns: under a quarter of every tile but the 32-wide ones'.
    expect(names(4096, 12).filter((n) => n.startsWith('tiled'))).toEqual(['tiled 32x32 4x4 k16', 'tiled 64x32 8x4 k16']);
    expect(names(4096, 16).filter((n) => n.startsWith('tiled 128'))).toEqual(['tiled 128x64 8x8 k8']);
    // Split reductions only where the tiles alone leave the GPU short of workgroups, and where they divide K.
    expect(names(4096, 4096).filter((n) => n.includes('split'))).toEqual([]);
    expect(gemmCandidates(gpu, 1024, 1024, 1024).map(configName)).toEqual(expect.arrayContaining(['tiled 64x128 8x8 k8 split2', 'tiled 64x128 8x8 k8 split4']));
    expect(gemmCandidates(gpu, 1024, 1024, 1000).map(configName).filter((n) => n.includes('split'))).toEqual([]);
    // A convolution's (any sizes): the m5 design's last layer's input gradient (K = 768) splits in 2 only, its
    // forward (K = 384) not at all, and the default model's passes (K = 320-400) neither: each split costs a
    // dispatch in a step bound by the host.
    const convSplits = (M: number, N: number, K: number) => splitConfigs(tiledConfigsFor(profile.limits, M, N), M, N, K).map((c) => c.splitK);
    expect(new Set(convSplits(128, 16 * 187, 768))).toEqual(new Set([2]));
    expect(convSplits(256, 16 * 187, 384)).toEqual([]);
    expect(convSplits(64, 16 * 300, 320)).toEqual([]);
    // Transposed first: beside every tile, for products of whole tiles from 1024³ up that read an operand along k.
    const transposed = (M: number, N: number, K: number, alongK: boolean) => gemmCandidates(gpu, M, N, K, alongK).map(configName).filter((n) => n.endsWith(' transposed'));
    expect(transposed(4096, 4096, 4096, true)).toEqual(expect.arrayContaining(['tiled 64x64 8x8 k16 transposed', 'tiled 128x128 8x8 k8 transposed']));
    expect(transposed(4096, 4096, 4096, false)).toEqual([]);
    expect(transposed(1024, 1024, 1024, true)).toContain('tiled 64x64 8x8 k16 transposed');
    expect(transposed(512, 1024, 1024, true)).toEqual([]);
    expect(transposed(4096, 4096, 4100, true)).toEqual([]);
    // The first convolution's input gradient as a GEMM: M = Cin = 1 row, batch·L columns; no tile at all.
    expect(tiledConfigsFor(profile.limits, 1, 16 * 48000)).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import * as ser from '../../src/index.js';
import { GpuRuntime } from '../../src/gpu/runtime.js';
import { WebGpuBackend } from '../../src/kernels/backend.js';
import { conv1dWith, subgroupTile, type SubgroupTile } from '../../src/kernels/conv1d.js';
import { convTiledName, tiledCandidates } from '../../src/kernels/conv1d-tiled.js';
import { configName, slicedConfigs, TILED_CONFIGS, tiledConfigsFor, tiledConvConfig } from '../../src/kernels/gemm.js';
import { assertClose, randn } from '../suite/harness.js';

// Initialised before the cases are defined: these run the WebGPU kernels directly.
const { runtime, backend } = await ser.init();
if (!runtime) throw new Error('the conv1d kernels need the WebGPU backend');
const rt = runtime;

// The suite (test/kernels/suite.test.ts) runs the kernels this adapter picks; these run both forward kernels and
// both input-gradient kernels on this adapter, so that lavapipe checks the per-invocation kernels it no longer
// picks and the subgroup kernel in every block shape. (Node only: it reaches into src/kernels.)
describe('conv1d: every kernel on this adapter', () => {
  // [N, Cin, L, Cout, K, stride, padding, dilation]: odd sizes, a kernel as long as the padded input, batch 1.
  const shapes = [
    [1, 1, 37, 5, 7, 1, 3, 1],
    [2, 3, 101, 33, 3, 1, 1, 1],
    [3, 5, 64, 9, 5, 1, 4, 2],
    [1, 7, 29, 13, 31, 1, 1, 1],
    [2, 2, 250, 17, 80, 4, 38, 1],
    [2, 4, 53, 6, 4, 3, 2, 2],
    [3, 5, 400, 9, 5, 1, 2, 1],
    [2, 8, 71, 12, 3, 1, 1, 1],
  ];
  // The GPU path, the tiled core: its 32×32 tiles on every shape and pass, with the vec4 staging and the scalar
  // one (src/kernels/conv1d-tiled.ts); every other tile configuration on the weight gradient below (lavapipe
  // compiles each pipeline of the written-out core for seconds). The shapes put quads inside and across the
  // samples' rows, the padding and the ends of C, for every pass.
  const tiled = TILED_CONFIGS[TILED_CONFIGS.length - 1];
  const tiledScalar = { ...tiled, scalarStaging: true };
  // The same with the reduction split in 3 (a tuning candidate for layers of few tiles): partial results, the
  // bias in the first alone, then their sum; one chunk where the reduction is a single slab.
  const tiledSplit = { ...tiled, splitK: 3 };
  // The reduction sliced in 3 within each workgroup (a tuning candidate for layers of few tiles), here also split,
  // and in the forward with w transposed first (the input gradient has no such variant, and ignores it).
  const tiledSliced = { ...tiled, splitK: 2, kSlices: 3, transposeFirst: true };
  // The forward with w transposed first (a tuning candidate for big forwards): its A quads along the rows.
  const tiledTransposed = { ...tiled, transposeFirst: true };
  const lanes = rt.profile.subgroupLanes;
  const subgroupTiles = (): SubgroupTile[] => {
    const l = lanes;
    return l ? [{ lanes: l, rowGroups: 1, cols: 1 }, { lanes: l, rowGroups: 2, cols: 3 }, { lanes: l, rowGroups: Math.min(4, 32 / l), cols: 4 }] : [];
  };

  type ShapeCase = { g: ser.Conv1dGeometry; p: ser.Conv1dParams; xShape: number[]; wShape: number[]; shapes: string; random: (n: number) => { values: Float32Array; gpu: ser.Storage } };
  /**
   * Runs `check` on every shape: its parameters, geometry, a name for messages, and `random(n)`, which draws n
   * values (seeds counting up from `seed`) and uploads them; the uploads are released after each shape.
   */
  async function eachShape(seed: number, check: (c: ShapeCase) => Promise<void>, only = shapes) {
    for (const [N, Cin, L, Cout, K, stride, padding, dilation] of only) {
      const p = { stride, padding, dilation };
      const [xShape, wShape] = [[N, Cin, L], [Cout, Cin, K]];
      const uploads: ser.Storage[] = [];
      const random = (n: number) => {
        const values = randn(n, seed++);
        uploads.push(backend.upload(values));
        return { values, gpu: uploads[uploads.length - 1] };
      };
      await check({ g: ser.conv1dGeometry(xShape, wShape, p), p, xShape, wShape, shapes: `x[${xShape}] w[${wShape}] ${JSON.stringify(p)}`, random });
      for (const s of uploads) backend.release(s);
    }
  }

  it('forward: per-invocation, tiled and subgroup kernels, with and without bias', () =>
    eachShape(9500, async ({ g, p, xShape, wShape, shapes, random }) => {
      const [x, w, bias] = [random(g.N * g.Cin * g.L), random(g.Cout * g.Cin * g.K), random(g.Cout)];
      for (const tile of [{ co: 8, l4: 4 }, tiled, tiledScalar, tiledSplit, tiledSliced, tiledTransposed, ...subgroupTiles()]) {
        for (const withBias of [false, true]) {
          const y = conv1dWith(rt, 'forward', withBias ? [x.gpu, w.gpu, bias.gpu] : [x.gpu, w.gpu], g, tile);
          const want = ser.reference.conv1d(x.values, xShape, w.values, wShape, withBias ? bias.values : null, p);
          assertClose(await backend.download(y), want, 1e-5, `conv1d ${JSON.stringify(tile)} ${shapes}${withBias ? ' +bias' : ''}`);
          backend.release(y);
        }
      }
    }));

  it('input gradient: per-phase, tiled and (stride 1) subgroup kernels', () =>
    eachShape(9600, async ({ g, p, xShape, wShape, shapes, random }) => {
      const [dy, w] = [random(g.N * g.Cout * g.Lout), random(g.Cout * g.Cin * g.K)];
      for (const tile of [{ ci: 4, l4: 4 }, tiled, tiledScalar, tiledSplit, tiledSliced, ...(g.stride === 1 ? subgroupTiles() : [])]) {
        const dx = conv1dWith(rt, 'backwardInput', [dy.gpu, w.gpu], g, tile);
        const want = ser.reference.conv1dBackwardInput(dy.values, w.values, xShape, wShape, p);
        assertClose(await backend.download(dx), want, 1e-5, `conv1dBackwardInput ${JSON.stringify(tile)} ${shapes}`);
        backend.release(dx);
      }
    }));

  it('weight gradient: per-invocation, tiled and subgroup kernels (reductions split in chunks)', () =>
    eachShape(9700, async ({ g, p, xShape, wShape, shapes, random }) => {
      const [dy, x] = [random(g.N * g.Cout * g.Lout), random(g.N * g.Cin * g.L)];
      for (const tile of [{ co4: 2, ci: 2, k: 3 }, tiled, tiledScalar, ...subgroupTiles()]) {
        const dw = conv1dWith(rt, 'backwardWeight', [dy.gpu, x.gpu], g, tile);
        const want = ser.reference.conv1dBackwardWeight(dy.values, x.values, xShape, wShape, p);
        assertClose(await backend.download(dw), want, 1e-4, `conv1dBackwardWeight ${JSON.stringify(tile)} ${shapes}`);
        backend.release(dw);
      }
    }));

  // The other tile configurations, on the one pass where the core sums a k range of its own (the weight
  // gradient split in 5 chunks), and on a strided one in one chunk. Their cores' staging, multiplication
  // and store are checked with every transpose in gemm.test.ts; the three passes' operands in 32×32 tiles above.
  for (const config of TILED_CONFIGS.filter((c) => c !== tiled)) {
    it(`weight gradient on the tiled core's ${configName(config)} configuration`, () =>
      eachShape(
        9800,
        async ({ g, p, xShape, wShape, shapes, random }) => {
          const [dy, x] = [random(g.N * g.Cout * g.Lout), random(g.N * g.Cin * g.L)];
          const dw = conv1dWith(rt, 'backwardWeight', [dy.gpu, x.gpu], g, config);
          const want = ser.reference.conv1dBackwardWeight(dy.values, x.values, xShape, wShape, p);
          assertClose(await backend.download(dw), want, 1e-4, `conv1dBackwardWeight ${configName(config)} ${shapes}`);
          backend.release(dw);
        },
        [shapes[6], shapes[4]],
      ));
  }

  it('tiled core: a forward and input gradient over 65535 column tiles of 32 (batch·L of 2.1 M), as the CPU reference', async () => {
    // Their grid [column tiles, row tiles, chunks] was refused past 65535 column tiles, after the output was
    // allocated; tileGrid folds the tiles into (x, y). One sample, one input and two output channels keep it fast.
    const p = { stride: 1, padding: 1, dilation: 1 };
    const [xShape, wShape] = [[1, 1, 65535 * 32 + 9], [2, 1, 3]];
    const g = ser.conv1dGeometry(xShape, wShape, p);
    const [x, w, dy] = [randn(g.L, 9900), randn(2 * 3, 9901), randn(2 * g.Lout, 9902)];
    const [gx, gw, gdy] = [backend.upload(x), backend.upload(w), backend.upload(dy)];
    const y = conv1dWith(rt, 'forward', [gx, gw], g, tiled);
    assertClose(await backend.download(y), ser.reference.conv1d(x, xShape, w, wShape, null, p), 1e-5, `conv1d tiled x[${xShape}]`);
    const dx = conv1dWith(rt, 'backwardInput', [gdy, gw], g, tiled);
    assertClose(await backend.download(dx), ser.reference.conv1dBackwardInput(dy, w, xShape, wShape, p), 1e-5, `conv1dBackwardInput tiled x[${xShape}]`);
    for (const s of [gx, gw, gdy, y, dx]) backend.release(s);
  });

  it('direct and subgroup kernels over 65535 blocks on a grid side, folded, as the CPU reference', async () => {
    // Their grids [column blocks, row blocks, N] (the weight gradient's [tile groups, chunks, 1]) were refused past
    // 65535 a side after the output was allocated: 2.1 M output channels (forward) or input channels (input
    // gradient) in the subgroup kernel's blocks of 32 or the direct kernels' tiles of 8 and 4, 2.1 M columns
    // Cin·K of the weight gradient, and a stride or dilation of 4.2 M at K = 1 (the direct kernels put one
    // thread per stride phase or window slot on x). One sample and one channel on the other side keep it fast.
    const R = 65535 * 32 + 1;
    const huge = 65535 * 64 + 1;
    const direct = { forward: { co: 8, l4: 4 }, backwardInput: { ci: 4, l4: 4 }, backwardWeight: { co4: 2, ci: 1, k: 1 } };
    const block: SubgroupTile[] = lanes ? [{ lanes, rowGroups: Math.min(4, 32 / lanes), cols: 4 }] : [];
    const cases: { xShape: number[]; wShape: number[]; p: ser.Conv1dParams; passes: ('forward' | 'backwardInput' | 'backwardWeight')[] }[] = [
      { xShape: [1, 1, 3], wShape: [R, 1, 1], p: { stride: 1, padding: 0, dilation: 1 }, passes: ['forward', 'backwardWeight'] },
      { xShape: [1, R, 1], wShape: [1, R, 1], p: { stride: 1, padding: 0, dilation: 1 }, passes: ['backwardInput', 'backwardWeight'] },
      { xShape: [1, 1, 5], wShape: [1, 1, 1], p: { stride: huge, padding: 0, dilation: 1 }, passes: ['backwardWeight'] },
      { xShape: [1, 1, 5], wShape: [1, 1, 1], p: { stride: 1, padding: 0, dilation: huge }, passes: ['forward', 'backwardInput'] },
      // A stride of 2^27 at K = 1: the direct weight gradient gave every stride phase tiles, all but one empty, and
      // was refused for 513·2^27 column tiles past u32 ('uniform field 14 (u32) must be an integer from 0 to
      // 4294967295, got 68853694464'). Now only the phases that hold a tap get tiles.
      { xShape: [1, 513, 1], wShape: [2, 513, 1], p: { stride: 2 ** 27, padding: 0, dilation: 1 }, passes: ['backwardWeight'] },
    ];
    const live = backend.counters().liveBuffers;
    let seed = 9920;
    for (const { xShape, wShape, p, passes } of cases) {
      const g = ser.conv1dGeometry(xShape, wShape, p);
      const [x, w, dy] = [randn(g.N * g.Cin * g.L, seed++), randn(g.Cout * g.Cin * g.K, seed++), randn(g.N * g.Cout * g.Lout, seed++)];
      const [gx, gw, gdy] = [backend.upload(x), backend.upload(w), backend.upload(dy)];
      for (const pass of passes) {
        const [inputs, want] =
          pass === 'forward' ? [[gx, gw], ser.reference.conv1d(x, xShape, w, wShape, null, p)]
          : pass === 'backwardInput' ? [[gdy, gw], ser.reference.conv1dBackwardInput(dy, w, xShape, wShape, p)]
          : [[gdy, gx], ser.reference.conv1dBackwardWeight(dy, x, xShape, wShape, p)];
        // The subgroup input gradient serves stride 1 and tap steps of ±1 only through `window`; both entries run.
        for (const t of [direct[pass], ...block]) {
          const out = conv1dWith(rt, pass, inputs, g, t);
          assertClose(await backend.download(out), want, 1e-5, `conv1d ${pass} ${'lanes' in t ? 'subgroup' : 'direct'} x[${xShape}] w[${wShape}] stride ${p.stride} dilation ${p.dilation}`);
          backend.release(out);
        }
      }
      for (const s of [gx, gw, gdy]) backend.release(s);
    }
    expect(backend.counters().liveBuffers).toBe(live);
  });

  it("offers the tuner every tile with quads, its split and sliced reductions, and the rule's tile with scalars, on GPUs only", () => {
    const gpu = { ...rt.profile, kernels: 'tiled' as const };
    // The m5 design's last layer, as GEMMs of M×N reduced over K: the forward's K = 384 splits in no way
    // (each part would keep under 256 of it), the input gradient's 768 in 2; both slice.
    const g = ser.conv1dGeometry([16, 128, 187], [256, 128, 3], { stride: 1, padding: 1, dilation: 1 });
    const views = { forward: [256, 16 * 187, false], backwardInput: [128, 16 * 187, true], backwardWeight: [256, 384, false] } as const;
    for (const [pass, [M, N, splits]] of Object.entries(views) as [keyof typeof views, (typeof views)[keyof typeof views]][]) {
      const names = tiledCandidates(gpu, pass, g).map(convTiledName);
      const tiles = tiledConfigsFor(gpu.limits, M, N).map(configName);
      const rule = configName(tiledConvConfig(gpu.limits, M, N));
      expect(names.filter((n) => n.endsWith(' scalar')), pass).toEqual([`${rule} scalar`]);
      expect(names.filter((n) => !/ (scalar|split\d|sliced\d|transposed)$/.test(n)), pass).toEqual(tiles);
      expect(names.some((n) => n.endsWith(' split2')), pass).toBe(splits);
      // Sliced in 2 where a tile leaves the grid short (188 tiles of 64×64), in 4 up to 256 threads where the
      // device holds 4 slices' slabs; never the weight gradient (split already), nor 4×4 per thread (256 threads
      // already), nor a grid of 512 tiles or more (32×32's 752 of the forward).
      const sliced = names.filter((n) => / sliced\d$/.test(n));
      expect(sliced.includes('tiled 64x64 8x4 k16 sliced2'), pass).toBe(pass !== 'backwardWeight');
      expect(sliced.includes('tiled 64x32 8x4 k16 sliced4'), pass).toBe(pass !== 'backwardWeight');
      expect(sliced.some((n) => n.startsWith('tiled 64x64 4x4 ')), pass).toBe(false);
      expect(sliced.some((n) => n.startsWith('tiled 32x32 4x4 ')), pass).toBe(pass === 'backwardInput'); // 376 tiles there
    }
    // No slices for a pass under 2²⁸ multiply-adds (the compact model's 32x100 layer at batch 64: 32 × 6 400 × 160),
    // nor where a slice would keep under 4 slabs: K = 160 keeps them in 2 slices of 16-deep slabs, not in 4.
    const compact = ser.conv1dGeometry([64, 32, 100], [32, 32, 5], { stride: 1, padding: 2, dilation: 1 });
    expect(tiledCandidates(gpu, 'forward', compact).filter((c) => c.kSlices)).toEqual([]);
    const shortK = slicedConfigs(tiledConfigsFor(gpu.limits, 256, 2992), gpu.limits, 256, 2992, 160).filter((c) => c.tileK === 16);
    expect(shortK.map((c) => c.kSlices)).toContain(2);
    expect(shortK.map((c) => c.kSlices)).not.toContain(4);
    expect(tiledCandidates({ ...rt.profile, kernels: 'subgroup' }, 'forward', g)).toEqual([]);
  });

  it("offers a big forward's tiles with w transposed first too, and no other pass's", () => {
    const gpu = { ...rt.profile, kernels: 'tiled' as const };
    const transposed = (g: ser.Conv1dGeometry, pass: 'forward' | 'backwardInput' | 'backwardWeight') =>
      tiledCandidates(gpu, pass, g)
        .map(convTiledName)
        .filter((n) => n.endsWith(' transposed'));
    // The m5 design's 16x128x750 layer (a GEMM of 128 × 12 000 × 384) and the default model's 16x64x300 (64 × 4 800
    // × 320, under the size from which the transpose's dispatch may pay).
    const big = ser.conv1dGeometry([16, 128, 750], [128, 128, 3], { stride: 1, padding: 1, dilation: 1 });
    const small = ser.conv1dGeometry([16, 64, 300], [64, 64, 5], { stride: 1, padding: 2, dilation: 1 });
    const tiles = tiledConfigsFor(gpu.limits, 128, 16 * 750);
    expect(transposed(big, 'forward')).toEqual([...tiles, ...slicedConfigs(tiles, gpu.limits, 128, 16 * 750, 384)].map((c) => `${configName(c)} transposed`));
    expect(transposed(big, 'backwardInput')).toEqual([]);
    expect(transposed(big, 'backwardWeight')).toEqual([]);
    expect(transposed(small, 'forward')).toEqual([]);
    // The m5 design's last layer (256 × 2 992 × 384): its tiles, sliced ones too.
    const last = ser.conv1dGeometry([16, 128, 187], [256, 128, 3], { stride: 1, padding: 1, dilation: 1 });
    expect(transposed(last, 'forward')).toContain('tiled 64x64 8x4 k16 sliced2 transposed');
  });

  it('picks the subgroup kernel exactly where the device has subgroups and names its SIMD width', () => {
    const tile = subgroupTile(rt, 128);
    if (lanes) expect(tile).toEqual({ lanes, rowGroups: Math.min(4, 32 / lanes), cols: 4 });
    else expect(tile).toBeNull();
  });

  // The direct and subgroup weight gradients reduce over chunks inside one sample, so their partials hold at least N
  // copies of dw: w [384,384,3] at batch 96 (x of 150 000 values) wanted 170 MB of them, past lavapipe's 128 MiB
  // binding limit, and the pass failed. Here a batch one past what the limit holds a chunk per sample of, a weight
  // as long as the input (Lout = 1, which keeps the reference quick on a GPU's limit too).
  it("weight gradient: a big weight at a batch whose chunk per sample would pass the device's binding limit", async () => {
    const [Cout, Cin, L] = [384, 384, 3];
    const N = Math.floor(rt.profile.limits.maxStorageBufferBindingSize / (4 * Cout * Cin * L)) + 1;
    const p = { stride: 1, padding: 0, dilation: 1 };
    const [xShape, wShape] = [[N, Cin, L], [Cout, Cin, L]];
    const g = ser.conv1dGeometry(xShape, wShape, p);
    const [x, dy] = [randn(N * Cin * L, 9900), randn(N * Cout, 9901)];
    const [xs, dys] = [backend.upload(x), backend.upload(dy)];
    const dw = ser.kernels.conv1dBackwardWeight(backend, dys, xs, g);
    assertClose(await backend.download(dw), ser.reference.conv1dBackwardWeight(dy, x, xShape, wShape, p), 1e-4, `conv1dBackwardWeight x[${xShape}] w[${wShape}]`);
    for (const s of [xs, dys, dw]) backend.release(s);
  });

  // The same grouping on small shapes with both kernels: a runtime whose profile binds partials of 3 weights only,
  // so that 7 samples go 3, 3 and 1 to a chunk (where a chunk per sample would have cut each sample's 600 positions
  // in 2).
  it('weight gradient: chunks of several whole samples, the last one short (direct and subgroup kernels)', async () => {
    const [N, Cin, L, Cout, K] = [7, 3, 601, 5, 3];
    const limits = rt.profile.limits;
    const small = { maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension, maxStorageBufferBindingSize: 3 * 4 * Cout * Cin * K } as GPUSupportedLimits;
    const grouped = new GpuRuntime({ ...rt.gpu, profile: { ...rt.profile, limits: small } });
    const groupedBackend = new WebGpuBackend(grouped);
    const p = { stride: 1, padding: 1, dilation: 1 };
    const [xShape, wShape] = [[N, Cin, L], [Cout, Cin, K]];
    const g = ser.conv1dGeometry(xShape, wShape, p);
    const [x, dy] = [randn(N * Cin * L, 9910), randn(N * Cout * g.Lout, 9911)];
    const [xs, dys] = [groupedBackend.upload(x), groupedBackend.upload(dy)];
    const want = ser.reference.conv1dBackwardWeight(dy, x, xShape, wShape, p);
    for (const tile of [{ co4: 2, ci: 3, k: 3 }, ...subgroupTiles()]) {
      const dw = conv1dWith(grouped, 'backwardWeight', [dys, xs], g, tile);
      assertClose(await groupedBackend.download(dw), want, 1e-4, `conv1dBackwardWeight ${JSON.stringify(tile)} x[${xShape}] w[${wShape}]`);
      groupedBackend.release(dw);
    }
    for (const s of [xs, dys]) groupedBackend.release(s);
  });

  it('refuses a batch past the workgroups of one dispatch dimension before allocating anything, naming the input', () => {
    const N = rt.profile.limits.maxComputeWorkgroupsPerDimension + 1;
    const [x, w] = [ser.zeros([N, 2, 16], { name: 'x' }), ser.zeros([4, 2, 3], { name: 'w' })];
    const live = backend.counters().liveBuffers;
    // The runtime refused the dispatch ("workgroups [1, 1, 65536] exceed …") after the output was allocated, for good.
    expect(() => ser.conv1d(x, w, null)).toThrow(new RegExp(`^conv1d: input x\\[${N},2,16\\] has a batch of ${N}, more than the ${N - 1} samples this adapter convolves in one pass`));
    expect(backend.counters().liveBuffers).toBe(live);
    x.dispose();
    w.dispose();
  });
});

import { beforeAll, describe, it } from 'vitest';
import * as ser from '../../src/index.js';
import { gemmCases } from '../suite/gemm.js';
import { gemmWithConfig, type GemmConfig } from '../../src/kernels/gemm.js';
import { assertClose, randn } from '../suite/harness.js';

beforeAll(async () => {
  await ser.init();
});

describe('gemm kernels (webgpu vs CPU reference)', () => {
  for (const c of gemmCases) it(c.name, () => c.run(ser));
});

// The suite above runs the kernel this adapter picks; these run every kernel, whatever the adapter, so that the
// GPU tiles are checked on lavapipe and the CPU kernels on a GPU. (Node only: it reaches into src/kernels.)
const CONFIGS: { name: string; config: GemmConfig; flags: [boolean, boolean][] }[] = [
  // 8×8 register blocks: lavapipe takes 10-20 s to compile this one (barriers become coroutines that save the
  // whole register block), and the staging code that the transpose flags change is the same as the 4×4 tiles'
  // below, so one flag combination covers what the 8×8 block adds.
  { name: 'tiled 128×128, 8×8/thread', config: { kernel: 'tiled', wgX: 16, wgY: 16, rowVecs: 2, colVecs: 2, tileK: 8 }, flags: [[false, false]] },
  { name: 'tiled 64×64, 4×4/thread', config: { kernel: 'tiled', wgX: 16, wgY: 16, rowVecs: 1, colVecs: 1, tileK: 16 }, flags: [[false, false], [true, false], [false, true], [true, true]] },
  { name: 'tiled 32×32, 4×4/thread', config: { kernel: 'tiled', wgX: 8, wgY: 8, rowVecs: 1, colVecs: 1, tileK: 16 }, flags: [[false, false], [true, false], [false, true], [true, true]] },
  { name: 'direct 64×64, 8×8/thread', config: { kernel: 'direct', wgX: 8, wgY: 8, rowVecs: 2, colVecs: 2, tileK: 4 }, flags: [[false, false], [true, false], [false, true], [true, true]] },
  { name: 'direct 32×32, 4×4/thread', config: { kernel: 'direct', wgX: 8, wgY: 8, rowVecs: 1, colVecs: 1, tileK: 4 }, flags: [[false, false], [true, true]] },
];

describe('gemm: every kernel on this adapter', () => {
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [17, 63, 3],
    [130, 67, 29],
    [16, 258, 7],
    [257, 300, 9],
  ];
  const run = async (config: GemmConfig, flags: [boolean, boolean][]) => {
    const engine = ser.engine();
    if (!engine.runtime) return; // the CPU backend
    const backend = engine.backend;
    let seed = 9100;
    for (const [transA, transB] of flags) {
      for (const [M, N, K] of shapes) {
        const a = randn(M * K, seed++);
        const b = randn(K * N, seed++);
        const bias = randn(N, seed++);
        const o = { M, N, K, transA, transB, activation: 'relu' as const };
        const [ga, gb, gbias] = [backend.upload(a), backend.upload(b), backend.upload(bias)];
        const out = gemmWithConfig(engine.runtime, ga, gb, { ...o, bias: gbias }, config);
        const what = `${config.kernel} transA=${transA} transB=${transB} M=${M} N=${N} K=${K}`;
        assertClose(await backend.download(out), ser.reference.gemm(a, b, { ...o, bias }), 1e-5, what);
        for (const s of [ga, gb, gbias, out]) backend.release(s);
      }
    }
  };
  for (const { name, config, flags } of CONFIGS) it(name, () => run(config, flags));
  it('subgroup kernel (where the device has subgroups and a CPU adapter names its lanes)', async () => {
    const engine = ser.engine();
    const rt = engine.runtime;
    if (!rt || !rt.device.features.has('subgroups')) return;
    const lanes = /(\d+)-bits/.exec(rt.gpu.adapter.device)?.[1];
    if (!lanes) return; // the subgroup kernel needs the driver's subgroup size; only llvmpipe names it
    await run({ kernel: 'subgroup', lanes: Number(lanes) / 32, rowGroups: 2, cols: 4 }, [[false, false], [true, false], [false, true], [true, true]]);
    await run({ kernel: 'subgroup', lanes: Number(lanes) / 32, rowGroups: 1, cols: 1 }, [[true, true]]);
  });
});

import { describe, it } from 'vitest';
import * as ser from '../../src/index.js';
import { gemmWithConfig, type GemmConfig } from '../../src/kernels/gemm.js';
import { assertClose, randn } from '../suite/harness.js';

// Initialised before the cases are defined, so that a case this adapter cannot run is skipped visibly.
const engine = await ser.init();
const lanes = engine.runtime?.profile.subgroupLanes ?? null;

// The suite (test/kernels/suite.test.ts) runs the kernel this adapter picks; these run every kernel, whatever the
// adapter, so that the GPU tiles are checked on lavapipe and the CPU kernels on a GPU. (Node only: it reaches into src/kernels.)
const CONFIGS: { name: string; config: GemmConfig; flags: [boolean, boolean][] }[] = [
  // lavapipe takes 10-80 s to compile each 256-thread tiled pipeline (its barriers become coroutines that save
  // the register block). The transpose flags change only the staging, which is the same code in every tile
  // config, so the 32×32 tiles check all four combinations and the bigger tiles one each (between them, both
  // load paths of A and of B).
  { name: 'tiled 128×128, 8×8/thread', config: { kernel: 'tiled', wgX: 16, wgY: 16, rowVecs: 2, colVecs: 2, tileK: 8 }, flags: [[true, true]] },
  { name: 'tiled 64×64, 4×4/thread', config: { kernel: 'tiled', wgX: 16, wgY: 16, rowVecs: 1, colVecs: 1, tileK: 16 }, flags: [[false, false]] },
  { name: 'tiled 32×32, 4×4/thread', config: { kernel: 'tiled', wgX: 8, wgY: 8, rowVecs: 1, colVecs: 1, tileK: 16 }, flags: [[false, false], [true, false], [false, true], [true, true]] },
  { name: 'direct 128×128, 16×16/thread', config: { kernel: 'direct', wgX: 8, wgY: 8, rowVecs: 4, colVecs: 4, tileK: 4 }, flags: [[false, false], [true, false], [false, true], [true, true]] },
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
  ];
  const run = async (config: GemmConfig, flags: [boolean, boolean][]) => {
    if (!engine.runtime) throw new Error('gemm kernels need the WebGPU backend');
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
  it.skipIf(!lanes)('subgroup kernel (skipped where the adapter has no subgroups or does not name its SIMD width)', async () => {
    if (!lanes) throw new Error('unreachable: skipped');
    await run({ kernel: 'subgroup', lanes, rowGroups: 2, cols: 4 }, [[false, false], [true, false], [false, true], [true, true]]);
    await run({ kernel: 'subgroup', lanes, rowGroups: 1, cols: 1 }, [[true, true]]);
    await run({ kernel: 'subgroup', lanes, rowGroups: Math.min(4, 32 / lanes), cols: 4 }, [[false, true]]);
  });
});

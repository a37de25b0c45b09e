import { describe, expect, it } from 'vitest';
import * as ser from '../../src/index.js';
import { conv1dWith, subgroupTile, type SubgroupTile } from '../../src/kernels/conv1d.js';
import { TILED_CONFIGS } from '../../src/kernels/gemm.js';
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
  ];
  // The GPU path, the tiled core, in its 32×32 tiles only: lavapipe compiles a 256-thread tiled pipeline for
  // 10-80 s (test/kernels/gemm.test.ts checks the bigger tiles on plain GEMMs).
  const tiled = TILED_CONFIGS[2];
  const lanes = rt.profile.subgroupLanes;
  const subgroupTiles = (): SubgroupTile[] => {
    const l = lanes;
    return l ? [{ lanes: l, rowGroups: 1, cols: 1 }, { lanes: l, rowGroups: 2, cols: 3 }, { lanes: l, rowGroups: Math.min(4, 32 / l), cols: 4 }] : [];
  };

  it('forward: per-invocation, tiled and subgroup kernels, with and without bias', async () => {
    let seed = 9500;
    for (const [N, Cin, L, Cout, K, stride, padding, dilation] of shapes) {
      const p = { stride, padding, dilation };
      const x = randn(N * Cin * L, seed++);
      const w = randn(Cout * Cin * K, seed++);
      const bias = randn(Cout, seed++);
      const [gx, gw, gb] = [backend.upload(x), backend.upload(w), backend.upload(bias)];
      for (const tile of [{ co: 8, l4: 4 }, tiled, ...subgroupTiles()]) {
        for (const withBias of [false, true]) {
          const g = ser.conv1dGeometry([N, Cin, L], [Cout, Cin, K], p);
          const y = conv1dWith(rt, 'forward', withBias ? [gx, gw, gb] : [gx, gw], g, tile);
          const what = `conv1d ${JSON.stringify(tile)} x[${N},${Cin},${L}] w[${Cout},${Cin},${K}] ${JSON.stringify(p)}${withBias ? ' +bias' : ''}`;
          assertClose(await backend.download(y), ser.reference.conv1d(x, [N, Cin, L], w, [Cout, Cin, K], withBias ? bias : null, p), 1e-5, what);
          backend.release(y);
        }
      }
      for (const s of [gx, gw, gb]) backend.release(s);
    }
  });

  it('input gradient: per-phase, tiled and (stride 1) subgroup kernels', async () => {
    let seed = 9600;
    for (const [N, Cin, L, Cout, K, stride, padding, dilation] of shapes) {
      const p = { stride, padding, dilation };
      const { Lout } = ser.conv1dGeometry([N, Cin, L], [Cout, Cin, K], p);
      const dy = randn(N * Cout * Lout, seed++);
      const w = randn(Cout * Cin * K, seed++);
      const [gdy, gw] = [backend.upload(dy), backend.upload(w)];
      for (const tile of [{ ci: 4, l4: 4 }, tiled, ...(stride === 1 ? subgroupTiles() : [])]) {
        const dx = conv1dWith(rt, 'backwardInput', [gdy, gw], ser.conv1dGeometry([N, Cin, L], [Cout, Cin, K], p), tile);
        const what = `conv1dBackwardInput ${JSON.stringify(tile)} x[${N},${Cin},${L}] w[${Cout},${Cin},${K}] ${JSON.stringify(p)}`;
        assertClose(await backend.download(dx), ser.reference.conv1dBackwardInput(dy, w, [N, Cin, L], [Cout, Cin, K], p), 1e-5, what);
        backend.release(dx);
      }
      for (const s of [gdy, gw]) backend.release(s);
    }
  });

  it('weight gradient: per-invocation, tiled and subgroup kernels (reductions split in chunks)', async () => {
    let seed = 9700;
    for (const [N, Cin, L, Cout, K, stride, padding, dilation] of shapes) {
      const p = { stride, padding, dilation };
      const { Lout } = ser.conv1dGeometry([N, Cin, L], [Cout, Cin, K], p);
      const dy = randn(N * Cout * Lout, seed++);
      const x = randn(N * Cin * L, seed++);
      const [gdy, gx] = [backend.upload(dy), backend.upload(x)];
      for (const tile of [{ co4: 2, ci: 2, k: 3 }, tiled, ...subgroupTiles()]) {
        const dw = conv1dWith(rt, 'backwardWeight', [gdy, gx], ser.conv1dGeometry([N, Cin, L], [Cout, Cin, K], p), tile);
        const what = `conv1dBackwardWeight ${JSON.stringify(tile)} x[${N},${Cin},${L}] w[${Cout},${Cin},${K}] ${JSON.stringify(p)}`;
        assertClose(await backend.download(dw), ser.reference.conv1dBackwardWeight(dy, x, [N, Cin, L], [Cout, Cin, K], p), 1e-4, what);
        backend.release(dw);
      }
      for (const s of [gdy, gx]) backend.release(s);
    }
  });

  it('picks the subgroup kernel exactly where the device has subgroups and names its SIMD width', () => {
    const tile = subgroupTile(rt, 128);
    if (lanes) expect(tile).toEqual({ lanes, rowGroups: Math.min(4, 32 / lanes), cols: 4 });
    else expect(tile).toBeNull();
  });
});

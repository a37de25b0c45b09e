// The spectral family: logEnergy (the filter bank's log band energies) and its backward on the GPU against the
// CPU reference (one value, odd sizes, the default model's, energies near the floor, exact zeros, past 65535
// workgroups), the reference's backward against central finite differences, and the fused op against the
// elementwise ops it replaces, forward and backward.

import type { Tensor } from '../../src/index.js';
import { assertClose, dot, numericGradient, randn, tiledRandn, type SuiteCase } from './harness.js';

const family = 'spectral';
const FLOOR = 1e-6; // the filter bank's ENERGY_FLOOR

/** logEnergy and its backward for z [outer, 2, inner] of values scale·N(0, 1) (every `zeroEvery`-th one 0). */
function gpuCase(outer: number, inner: number, seed: number, scale = 1, zeroEvery = 0): SuiteCase {
  // zeroEvery: both parts of every zeroEvery-th value of each block are 0.
  return {
    family,
    name: `logEnergy forward and backward match the reference (z[${outer},2,${inner}]${scale !== 1 ? `, values ×${scale}` : ''}${zeroEvery ? ', zeros' : ''})`,
    async run(ser) {
      const backend = ser.engine().backend;
      const z = tiledRandn(2 * outer * inner, seed).map((v, i) => (zeroEvery && (i % inner) % zeroEvery === 0 ? 0 : scale * v));
      const g = tiledRandn(outer * inner, seed + 1);
      const [zs, gs] = [z, g].map((a) => backend.upload(a));
      const y = ser.kernels.logEnergy(backend, zs, outer, inner, FLOOR);
      const dz = ser.kernels.logEnergyBackward(backend, zs, gs, outer, inner, FLOOR);
      const what = `z[${outer},2,${inner}]`;
      assertClose(await backend.download(y), ser.reference.logEnergy(z, outer, inner, FLOOR), 1e-5, `logEnergy ${what}`);
      assertClose(await backend.download(dz), ser.reference.logEnergyBackward(z, g, outer, inner, FLOOR), 1e-5, `logEnergyBackward ${what}`);
      for (const s of [zs, gs, y, dz]) backend.release(s);
    },
  };
}

/** The reference backward against central differences of Σ r·logEnergy(z). */
function finiteDifferenceCase(outer: number, inner: number, seed: number): SuiteCase {
  return {
    family,
    name: `CPU logEnergyBackward matches finite differences (z[${outer},2,${inner}])`,
    async run(ser) {
      const ref = ser.reference;
      const r = randn(outer * inner, seed);
      const z = randn(2 * outer * inner, seed + 1);
      const numeric = numericGradient((v) => dot(r, ref.logEnergy(v, outer, inner, FLOOR)), z);
      assertClose(ref.logEnergyBackward(z, r, outer, inner, FLOOR), numeric, 1e-6, 'logEnergyBackward vs finite differences');
    },
  };
}

/** The fused op against the ops the filter bank composed before it (square, sum of the halves, + floor, log),
 * forward and backward on the same backend: trained checkpoints give the same numbers. */
const composedCase: SuiteCase = {
  family,
  name: 'logEnergy gives what the composed elementwise ops gave, forward and backward',
  async run(ser) {
    const [N, F, T] = [3, 7, 31];
    const data = randn(N * 2 * F * T, 71).map((v) => 0.01 * v);
    const g = randn(N * F * T, 72);
    const composed = (y: Tensor) => ser.log(ser.affine(ser.reshape(ser.sum(ser.reshape(ser.square(y), [N, 2, F * T]), 1), [N, F, T]), 1, FLOOR));
    const results = [];
    for (const f of [composed, (y: Tensor) => ser.logEnergy(y, FLOOR)]) {
      const z = ser.tensor(data, [N, 2 * F, T], { requiresGrad: true });
      const y = f(z);
      await y.backward(ser.tensor(g, y.shape));
      results.push({ y: await y.toArray(), dz: await z.grad!.toArray() });
    }
    assertClose(results[1].y, results[0].y, 1e-6, 'logEnergy vs composed, forward');
    assertClose(results[1].dz, results[0].dz, 1e-6, 'logEnergy vs composed, backward');
  },
};

export const spectralCases: SuiteCase[] = [
  gpuCase(1, 1, 1),
  gpuCase(3, 35, 2),
  gpuCase(16, 64 * 300, 3), // the default model's filter bank at batch 16
  gpuCase(2, 999, 4, 1e-3), // energies of the order of the floor
  gpuCase(5, 13, 5, 1, 3), // exact zeros: re = im = 0 gives log(floor) and a zero gradient
  gpuCase(1, 4_200_001, 6), // 4.2 M outputs: past 65535 workgroups of 64, grid1d's 2-D fold
  finiteDifferenceCase(2, 5, 7),
  finiteDifferenceCase(1, 3, 8),
  composedCase,
];

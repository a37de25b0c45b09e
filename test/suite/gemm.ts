// GEMM kernel cases: the WebGPU gemm against the CPU reference for every transpose combination, with and
// without the fused bias and relu, on odd sizes (not multiples of any tile) from 1×1×1 up to grids of many
// workgroups in both dimensions; and the backward formulas (dA = dC·op(B)ᵀ, dB = op(A)ᵀ·dC, dbias = Σ dC, all
// through the same gemm with transpose flags) against central finite differences.

import type { GemmOptions, Storage } from '../../src/kernels/index.js';
import { assert, assertClose, dot, numericGradient, randn, type Ser, type SuiteCase } from './harness.js';

const FORWARD_TOLERANCE = 1e-5;
const GRADIENT_TOLERANCE = 1e-4;

const TRANSPOSES: [boolean, boolean][] = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
];
const flagName = (tA: boolean, tB: boolean) => `${tA ? 'Aᵀ' : 'A'}·${tB ? 'Bᵀ' : 'B'}`;

let seed = 7001;
const nextSeed = () => seed++;

interface Problem {
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  bias: boolean;
  relu: boolean;
}

/** Runs one GEMM on the backend and compares it with the reference. */
async function checkForward(ser: Ser, p: Problem): Promise<void> {
  const backend = ser.engine().backend;
  const a = randn(p.M * p.K, nextSeed());
  const b = randn(p.K * p.N, nextSeed());
  const bias = randn(p.N, nextSeed());
  const options: GemmOptions = { M: p.M, N: p.N, K: p.K, transA: p.transA, transB: p.transB, activation: p.relu ? 'relu' : undefined };
  const inputs: Storage[] = [backend.upload(a), backend.upload(b)];
  if (p.bias) inputs.push(backend.upload(bias));
  const out = ser.kernels.gemm(backend, inputs[0], inputs[1], { ...options, bias: p.bias ? inputs[2] : undefined });
  const got = await backend.download(out);
  const ref = ser.reference.gemm(a, b, { ...options, bias: p.bias ? bias : null });
  const what = `gemm ${flagName(p.transA, p.transB)} M=${p.M} N=${p.N} K=${p.K}${p.bias ? ' +bias' : ''}${p.relu ? ' relu' : ''}`;
  assert(got.length === p.M * p.N, `${what}: output has ${got.length} elements, expected ${p.M * p.N}`);
  assertClose(got, ref, FORWARD_TOLERANCE, what);
  for (const s of [...inputs, out]) backend.release(s);
}

// Odd sizes, tiny to several workgroups; skinny shapes of the classifier head (M=16, K=256+2, N=4..8) and
// of its backward (M=16, N=258, K=7).
const ODD_SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [3, 17, 63],
  [17, 3, 1],
  [65, 129, 257],
  [129, 63, 17],
  [257, 65, 3],
  [16, 5, 258],
  [16, 8, 258],
  [16, 258, 7],
];

const forwardCases: SuiteCase[] = TRANSPOSES.map(([transA, transB]) => ({
  family: 'gemm',
  name: `gemm ${flagName(transA, transB)}: odd sizes, with and without bias and relu`,
  async run(ser: Ser) {
    let variant = 0;
    for (const [M, N, K] of ODD_SHAPES) {
      // Every shape once plain and once with one of the fused epilogues, cycling through them.
      const epilogues: [boolean, boolean][] = [[false, false], [[true, false], [false, true], [true, true]][variant++ % 3] as [boolean, boolean]];
      for (const [bias, relu] of epilogues) await checkForward(ser, { M, N, K, transA, transB, bias, relu });
    }
  },
}));

const gridCases: SuiteCase[] = [
  {
    family: 'gemm',
    name: 'gemm: several workgroups in both dimensions, all transposes, bias and relu',
    async run(ser: Ser) {
      for (const [transA, transB] of TRANSPOSES) await checkForward(ser, { M: 517, N: 389, K: 45, transA, transB, bias: true, relu: true });
    },
  },
  {
    family: 'gemm',
    name: 'gemm: large tiles (1030×1031) and a long K',
    async run(ser: Ser) {
      await checkForward(ser, { M: 1030, N: 1031, K: 19, transA: false, transB: true, bias: true, relu: false });
      await checkForward(ser, { M: 33, N: 35, K: 3001, transA: true, transB: false, bias: false, relu: false });
    },
  },
  {
    family: 'gemm',
    name: 'gemm: many rows, few columns (tall skinny)',
    async run(ser: Ser) {
      await checkForward(ser, { M: 4099, N: 3, K: 9, transA: false, transB: false, bias: true, relu: true });
      await checkForward(ser, { M: 2, N: 3001, K: 5, transA: true, transB: true, bias: false, relu: true });
    },
  },
];

/** The backward formulas of C = op(A)·op(B) + bias, checked two ways: the reference's gradients against finite
 * differences of Σ r·C, and the backend's gemm with the backward flags against the reference. */
const backwardCases: SuiteCase[] = TRANSPOSES.map(([transA, transB]) => ({
  family: 'gemm',
  name: `gemm ${flagName(transA, transB)} backward: dA = dC·op(B)ᵀ, dB = op(A)ᵀ·dC vs finite differences`,
  async run(ser: Ser) {
    const backend = ser.engine().backend;
    const ref = ser.reference;
    const [M, N, K] = [5, 7, 3];
    const a = randn(M * K, nextSeed());
    const b = randn(K * N, nextSeed());
    const bias = randn(N, nextSeed());
    const r = randn(M * N, nextSeed()); // dC of the loss Σ r·C
    const o = { M, N, K, transA, transB };
    const grads = ref.gemmBackward(a, b, r, o);

    const loss = (x: ArrayLike<number>, y: ArrayLike<number>, z: ArrayLike<number>) => dot(r, ref.gemm(x, y, { ...o, bias: z }));
    assertClose(grads.da, numericGradient((x) => loss(x, b, bias), a), GRADIENT_TOLERANCE, 'reference dA vs finite differences');
    assertClose(grads.db, numericGradient((y) => loss(a, y, bias), b), GRADIENT_TOLERANCE, 'reference dB vs finite differences');
    assertClose(grads.dbias, numericGradient((z) => loss(a, b, z), bias), GRADIENT_TOLERANCE, 'reference dbias vs finite differences');

    // The same gradients from the backend: the flags autograd uses (see gemmBackward).
    const [ga, gb, gdc] = [backend.upload(a), backend.upload(b), backend.upload(r)];
    const da = transA
      ? ser.kernels.gemm(backend, gb, gdc, { M: K, N: M, K: N, transA: transB, transB: true })
      : ser.kernels.gemm(backend, gdc, gb, { M, N: K, K: N, transB: !transB });
    const db = transB
      ? ser.kernels.gemm(backend, gdc, ga, { M: N, N: K, K: M, transA: true, transB: transA })
      : ser.kernels.gemm(backend, ga, gdc, { M: K, N, K: M, transA: !transA });
    assertClose(await backend.download(da), grads.da, GRADIENT_TOLERANCE, 'backend dA vs reference');
    assertClose(await backend.download(db), grads.db, GRADIENT_TOLERANCE, 'backend dB vs reference');
    for (const s of [ga, gb, gdc, da, db]) backend.release(s);
  },
}));

/** Backward at the classifier head's shapes: y = x·Wᵀ + b with x [16,258], W [5,258]. */
const linearBackwardCase: SuiteCase = {
  family: 'gemm',
  name: 'gemm linear (x·Wᵀ + b) backward at the classifier shape vs reference',
  async run(ser: Ser) {
    const backend = ser.engine().backend;
    const [M, N, K] = [16, 5, 258];
    const x = randn(M * K, nextSeed());
    const w = randn(N * K, nextSeed());
    const dy = randn(M * N, nextSeed());
    const grads = ser.reference.gemmBackward(x, w, dy, { M, N, K, transB: true });
    const [gx, gw, gdy] = [backend.upload(x), backend.upload(w), backend.upload(dy)];
    const dx = ser.kernels.gemm(backend, gdy, gw, { M, N: K, K: N }); // [16,5]·[5,258]
    const dw = ser.kernels.gemm(backend, gdy, gx, { M: N, N: K, K: M, transA: true }); // [5,16]·[16,258]
    assertClose(await backend.download(dx), grads.da, GRADIENT_TOLERANCE, 'dx');
    assertClose(await backend.download(dw), grads.db, GRADIENT_TOLERANCE, 'dW');
    for (const s of [gx, gw, gdy, dx, dw]) backend.release(s);
  },
};

export const gemmCases: SuiteCase[] = [...forwardCases, ...gridCases, ...backwardCases, linearBackwardCase];

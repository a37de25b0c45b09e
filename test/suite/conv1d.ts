// Convolution kernels: the WebGPU conv1d (with and without bias), conv1dBackwardInput and conv1dBackwardWeight
// against the CPU reference (odd channel counts and lengths, batch 1, stride > 1, dilation > 1 and stride and
// dilation sharing a factor, a kernel as long as the padded input, the model's first layer in small, and sizes
// that need several workgroups in every grid dimension and several reduction chunks, a row of over 2 million
// positions), and the CPU references'
// backward passes against central finite differences of Σ r·conv1d(x, w).

import type { Conv1dParams } from '../../src/index.js';
import { assert, assertClose, dot, numericGradient, randn, type Ser, type SuiteCase } from './harness.js';

const FORWARD_TOLERANCE = 1e-5;
const GRADIENT_TOLERANCE = 1e-4;
/** The references are linear in each argument, so float64 central differences agree to rounding. */
const FINITE_DIFFERENCE_TOLERANCE = 1e-7;


function describe(xShape: number[], wShape: number[], p: Conv1dParams): string {
  return `x[${xShape}] w[${wShape}] s${p.stride} p${p.padding} d${p.dilation}`;
}

/** The three kernels on the GPU against the CPU reference, for one shape and parameter set. */
async function compareWithReference(ser: Ser, xShape: number[], wShape: number[], p: Conv1dParams, seed: number, withBias: boolean): Promise<void> {
  const backend = ser.engine().backend;
  const ref = ser.reference;
  const [N, Cin, L] = xShape;
  const [Cout, wCin, K] = wShape;
  assert(wCin === Cin, 'bad test parameters: channel mismatch');
  const g = ser.conv1dGeometry(xShape, wShape, p);
  const { Lout } = g;
  assert(Lout >= 1, `bad test parameters: Lout = ${Lout}`);
  const what = describe(xShape, wShape, p);

  const x = randn(N * Cin * L, seed);
  const w = randn(Cout * Cin * K, seed + 1);
  const bias = randn(Cout, seed + 2);
  const dy = randn(N * Cout * Lout, seed + 3);
  const xs = backend.upload(x);
  const ws = backend.upload(w);
  const bs = backend.upload(bias);
  const dys = backend.upload(dy);
  const outputs = {
    conv1d: ser.kernels.conv1d(backend, xs, ws, withBias ? bs : null, g),
    conv1dBackwardInput: ser.kernels.conv1dBackwardInput(backend, dys, ws, g),
    conv1dBackwardWeight: ser.kernels.conv1dBackwardWeight(backend, dys, xs, g),
  };
  const expected = {
    conv1d: ref.conv1d(x, xShape, w, wShape, withBias ? bias : null, p),
    conv1dBackwardInput: ref.conv1dBackwardInput(dy, w, xShape, wShape, p),
    conv1dBackwardWeight: ref.conv1dBackwardWeight(dy, x, xShape, wShape, p),
  };
  for (const name of Object.keys(outputs) as (keyof typeof outputs)[]) {
    const out = await backend.download(outputs[name]);
    assertClose(out, expected[name], name === 'conv1d' ? FORWARD_TOLERANCE : GRADIENT_TOLERANCE, `${name}${withBias && name === 'conv1d' ? ' (bias)' : ''} ${what}`);
  }
  for (const s of [xs, ws, bs, dys, ...Object.values(outputs)]) backend.release(s);
}

function gpuCase(name: string, xShape: number[], wShape: number[], p: Conv1dParams, seed: number, withBias = true): SuiteCase {
  return { family: 'conv1d', name, run: (ser) => compareWithReference(ser, xShape, wShape, p, seed, withBias) };
}

/** The CPU reference's gradients against central differences of the scalar loss Σ r·conv1d(x, w, b). */
function finiteDifferenceCase(xShape: number[], wShape: number[], p: Conv1dParams, seed: number): SuiteCase {
  return {
    family: 'conv1d',
    name: `reference gradients match finite differences, ${describe(xShape, wShape, p)}`,
    async run(ser) {
      const ref = ser.reference;
      const [N, Cin, L] = xShape;
      const [Cout, , K] = wShape;
      const x = Float64Array.from(randn(N * Cin * L, seed));
      const w = Float64Array.from(randn(Cout * Cin * K, seed + 1));
      const bias = Float64Array.from(randn(Cout, seed + 2));
      const r = Float64Array.from(randn(N * Cout * ser.conv1dGeometry(xShape, wShape, p).Lout, seed + 3));
      const lossOfX = (xv: Float64Array) => dot(r, ref.conv1d(xv, xShape, w, wShape, bias, p));
      const lossOfW = (wv: Float64Array) => dot(r, ref.conv1d(x, xShape, wv, wShape, bias, p));
      const what = describe(xShape, wShape, p);
      assertClose(ref.conv1dBackwardInput(r, w, xShape, wShape, p), numericGradient(lossOfX, x), FINITE_DIFFERENCE_TOLERANCE, `conv1dBackwardInput vs finite differences ${what}`);
      assertClose(ref.conv1dBackwardWeight(r, x, xShape, wShape, p), numericGradient(lossOfW, w), FINITE_DIFFERENCE_TOLERANCE, `conv1dBackwardWeight vs finite differences ${what}`);
    },
  };
}

const p = (stride: number, padding: number, dilation: number): Conv1dParams => ({ stride, padding, dilation });

export const conv1dCases: SuiteCase[] = [
  gpuCase('small, odd sizes, padding 1', [2, 3, 37], [5, 3, 4], p(1, 1, 1), 101),
  gpuCase('batch 1, stride 3, dilation 2, no bias', [1, 5, 101], [7, 5, 5], p(3, 2, 2), 202, false),
  gpuCase('kernel as long as the padded input (Lout = 1)', [3, 7, 40], [3, 7, 42], p(1, 1, 1), 303),
  gpuCase('dilated kernel as long as the padded input, stride 3', [2, 3, 19], [5, 3, 11], p(3, 1, 2), 404),
  gpuCase('one channel in and out, kernel past the input', [1, 1, 10], [1, 1, 14], p(1, 2, 1), 505),
  gpuCase('kernel 1, stride 2', [2, 5, 33], [3, 5, 1], p(2, 0, 1), 606),
  gpuCase('dilation 2, stride 1', [2, 4, 53], [3, 4, 5], p(1, 3, 2), 707),
  gpuCase('stride 2, dilation 4 (common factor)', [1, 3, 90], [4, 3, 6], p(2, 4, 4), 808, false),
  gpuCase('stride 6, dilation 4 (common factor)', [2, 2, 77], [5, 2, 7], p(6, 5, 4), 909),
  gpuCase('stride 5, dilation 3, no padding', [2, 6, 50], [5, 6, 7], p(5, 0, 3), 1010),
  gpuCase('first layer in small: 1 -> 9 channels, kernel 20, stride 4', [2, 1, 1001], [9, 1, 20], p(4, 9, 1), 1111),
  gpuCase('first layer shape: 1 -> 64 channels, kernel 80, stride 4', [2, 1, 12001], [64, 1, 80], p(4, 38, 1), 1212),
  gpuCase('several workgroups in every dimension and several chunks', [3, 37, 2501], [70, 37, 3], p(1, 1, 1), 1313),
  gpuCase('odd channels, kernel 9, stride 3, dilation 2', [3, 17, 301], [19, 17, 9], p(3, 4, 2), 1414),
  // The subgroup correlation's grid holds rows of up to 65535·32 outputs on lavapipe: past that the direct kernel.
  gpuCase('a row of over 2 million positions (past a subgroup block grid)', [1, 1, 2_200_001], [2, 1, 3], p(1, 1, 1), 1919),
  {
    family: 'conv1d',
    name: 'backwardWeight is deterministic (chunk sums added in a fixed order)',
    async run(ser) {
      const backend = ser.engine().backend;
      const xShape = [4, 3, 3001];
      const wShape = [8, 3, 5];
      const conv = p(2, 2, 1);
      const xs = backend.upload(randn(4 * 3 * 3001, 1515));
      const g = ser.conv1dGeometry(xShape, wShape, conv);
      const dys = backend.upload(randn(4 * 8 * g.Lout, 1516));
      const first = ser.kernels.conv1dBackwardWeight(backend, dys, xs, g);
      const second = ser.kernels.conv1dBackwardWeight(backend, dys, xs, g);
      const [a, b] = [await backend.download(first), await backend.download(second)];
      assert(a.every((v, i) => Object.is(v, b[i])), 'two runs of conv1dBackwardWeight differ');
      for (const s of [xs, dys, first, second]) backend.release(s);
    },
  },
  finiteDifferenceCase([2, 3, 9], [4, 3, 3], p(1, 1, 1), 1616),
  finiteDifferenceCase([1, 2, 13], [3, 2, 4], p(3, 2, 2), 1717),
  finiteDifferenceCase([2, 2, 7], [2, 2, 5], p(2, 3, 2), 1818),
];

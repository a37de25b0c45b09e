// Pooling kernels: the WebGPU maxPool1d/avgPool1d and their backward passes against the CPU reference
// (odd lengths, overlapping windows, padding, stride > kernel, a window as long as the padded input, batch 1,
// ties in max, and a size past 65535 workgroups for grid1d's 2-D fold), and the CPU references' backward
// passes against central finite differences. Statistics pooling likewise (L from 1 to thousands, a mean far
// larger than the spread, past 65535 rows), and against the elementwise ops it replaces, forward and backward.

import type { Pool1dParams, Tensor } from '../../src/index.js';
import { assert, assertClose, assertSameWithNaN, dot, numericGradient, randn, size, type Ser, type SuiteCase } from './harness.js';

const FORWARD_TOLERANCE = 1e-5;
const GRADIENT_TOLERANCE = 1e-4;
/** Sums over 2^16..2^21 alike values (statsLongRowsCase). */
const LONG_SUM = 1e-5;


/** Standard-normal values; past 65536, drawn from a block of them by a hashed index (randn is slow). */
function random(n: number, seed: number): Float32Array {
  const block = 1 << 16;
  if (n <= block) return randn(n, seed);
  const source = randn(block, seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = source[Math.imul(i ^ (i >>> 13), 0x9e3779b1) >>> 16];
  return out;
}

/** Values rounded to multiples of 0.5, so most windows hold repeated maxima. */
function withTies(n: number, seed: number): Float32Array {
  const x = random(n, seed);
  for (let i = 0; i < n; i++) x[i] = Math.round(x[i] * 2) / 2;
  return x;
}

/** Distinct values at least 0.01 apart in random order: no window has a near-tie to upset finite differences. */
function withoutTies(n: number, seed: number): Float64Array {
  const keys = randn(n, seed);
  const order = Array.from(keys.keys()).sort((a, b) => keys[a] - keys[b]);
  const x = new Float64Array(n);
  order.forEach((i, rank) => (x[i] = (rank - n / 2) * 0.01));
  return x;
}

/** All four kernels on the GPU against the CPU reference, for one shape and parameter set. */
async function compareWithReference(ser: Ser, xShape: number[], p: Pool1dParams, x: Float32Array, seed: number): Promise<void> {
  const backend = ser.engine().backend;
  const ref = ser.reference;
  const [N, C, L] = xShape;
  const g = ser.pool1dGeometry(xShape, p);
  const { Lout } = g;
  assert(Lout >= 1, `bad test parameters: Lout = ${Lout}`);
  const dy = random(N * C * Lout, seed + 1);
  const what = `x[${xShape}] k${p.kernelSize} s${p.stride} p${p.padding}`;

  const xs = backend.upload(x);
  const dys = backend.upload(dy);
  const outputs = {
    maxPool1d: ser.kernels.maxPool1d(backend, xs, g),
    maxPool1dBackward: ser.kernels.maxPool1dBackward(backend, xs, dys, g),
    avgPool1d: ser.kernels.avgPool1d(backend, xs, g),
    avgPool1dBackward: ser.kernels.avgPool1dBackward(backend, dys, g),
  };
  const expected = {
    maxPool1d: ref.maxPool1d(x, xShape, p),
    maxPool1dBackward: ref.maxPool1dBackward(x, dy, xShape, p),
    avgPool1d: ref.avgPool1d(x, xShape, p),
    avgPool1dBackward: ref.avgPool1dBackward(dy, xShape, p),
  };
  for (const name of Object.keys(outputs) as (keyof typeof outputs)[]) {
    const out = await backend.download(outputs[name]);
    const tolerance = name.endsWith('Backward') ? GRADIENT_TOLERANCE : FORWARD_TOLERANCE;
    assertClose(out, expected[name], tolerance, `${name} ${what}`);
  }
  for (const s of [xs, dys, ...Object.values(outputs)]) backend.release(s);
}

function gpuCase(name: string, xShape: number[], p: Pool1dParams, seed: number, ties = false): SuiteCase {
  return {
    family: 'pool1d',
    name,
    async run(ser) {
      const n = xShape[0] * xShape[1] * xShape[2];
      await compareWithReference(ser, xShape, p, ties ? withTies(n, seed) : random(n, seed), seed);
    },
  };
}

/** Both backward references against central differences of the loss Σ r·pool(x). */
function finiteDifferenceCase(xShape: number[], p: Pool1dParams, seed: number): SuiteCase {
  return {
    family: 'pool1d',
    name: `CPU backward references match finite differences (x[${xShape}] k${p.kernelSize} s${p.stride} p${p.padding})`,
    async run(ser) {
      const ref = ser.reference;
      const [N, C, L] = xShape;
      const r = randn(N * C * ser.pool1dGeometry([N, C, L], p).Lout, seed);
      const x = withoutTies(N * C * L, seed + 1);

      const maxNumeric = numericGradient((v) => dot(r, ref.maxPool1d(v, xShape, p)), x);
      assertClose(ref.maxPool1dBackward(x, r, xShape, p), maxNumeric, 1e-6, 'maxPool1dBackward vs finite differences');

      const xr = randn(N * C * L, seed + 2);
      const avgNumeric = numericGradient((v) => dot(r, ref.avgPool1d(v, xShape, p)), xr);
      assertClose(ref.avgPool1dBackward(r, xShape, p), avgNumeric, 1e-6, 'avgPool1dBackward vs finite differences');
    },
  };
}

/** A first-maximum tie rule check small enough to state by hand. */
const handTieCase: SuiteCase = {
  family: 'pool1d',
  name: 'max backward sends each window gradient to its first maximum, summing over overlapping windows',
  async run(ser) {
    const backend = ser.engine().backend;
    const xShape = [1, 1, 7];
    const p = { kernelSize: 3, stride: 2, padding: 1 };
    const x = new Float32Array([1, 2, 2, 0.5, 3, 3, -1]);
    const dy = new Float32Array([10, 20, 30, 40]);
    // window 0: {1,2} -> position 1; window 1: {2,2,0.5} -> position 1 (first of the tie);
    // window 2: {0.5,3,3} -> position 4; window 3: {3,-1} (+ right padding) -> position 5.
    const expected = [0, 30, 0, 0, 30, 40, 0];
    const xs = backend.upload(x);
    const dys = backend.upload(dy);
    const dxs = ser.kernels.maxPool1dBackward(backend, xs, dys, ser.pool1dGeometry(xShape, p));
    const ys = ser.kernels.maxPool1d(backend, xs, ser.pool1dGeometry(xShape, p));
    const dx = await backend.download(dxs);
    const y = await backend.download(ys);
    assert(dx.join() === expected.join(), `maxPool1dBackward: got [${dx.join(', ')}], expected [${expected.join(', ')}]`);
    assert(y.join() === [2, 2, 3, 3].join(), `maxPool1d: got [${y.join(', ')}], expected [2, 2, 3, 3]`);
    assertClose(ser.reference.maxPool1dBackward(x, dy, xShape, p), expected, 0, 'CPU reference maxPool1dBackward');
    for (const s of [xs, dys, dxs, ys]) backend.release(s);
  },
};

/** torch propagates NaN through max pooling (a NaN is its window's maximum); WGSL's max() may drop it. Each of
 * the three GPU max kernels (vec4 pooling by 4, the specialised and the general one) must agree with the CPU
 * reference, forward and backward (the gradient goes to the first NaN). */
const nanCase: SuiteCase = {
  family: 'pool1d',
  name: 'a NaN in a window is its maximum, forward and backward, in every max-pool kernel (as torch)',
  async run(ser) {
    const backend = ser.engine().backend;
    const N = NaN;
    const configs: { what: string; x: number[]; p: Pool1dParams }[] = [
      // 16 values, kernel 4 stride 4: the vec4 kernel. NaN first, middle, last in a window, two NaNs, none.
      { what: 'vec4 pooling by 4', x: [N, 5, 1, 2, 0, 7, N, 1, 3, 1, 2, N, N, 9, N, -1], p: { kernelSize: 4, stride: 4, padding: 0 } },
      { what: 'vec4 pooling by 4, no NaN', x: [1, 5, 1, 2, 0, 7, 6, 1, 3, 1, 2, 4, 8, 9, 0, -1], p: { kernelSize: 4, stride: 4, padding: 0 } },
      // 9 values: not whole vec4s, so the specialised kernel.
      { what: 'specialised pooling by 4', x: [3, N, 9, 1, -Infinity, -2, -3, N, 4], p: { kernelSize: 4, stride: 4, padding: 0 } },
      // Overlapping windows with padding: the general kernel, and the overlapping backward.
      { what: 'general (kernel 3, stride 2, padding 1)', x: [1, N, 2, 0.5, 3, N, -1], p: { kernelSize: 3, stride: 2, padding: 1 } },
    ];
    for (const c of configs) {
      const x = Float32Array.from(c.x);
      const xShape = [1, 1, x.length];
      const g = ser.pool1dGeometry(xShape, c.p);
      const { Lout } = g;
      const dy = Float32Array.from({ length: Lout }, (_, i) => 10 * (i + 1));
      const xs = backend.upload(x);
      const dys = backend.upload(dy);
      const ys = ser.kernels.maxPool1d(backend, xs, g);
      const dxs = ser.kernels.maxPool1dBackward(backend, xs, dys, g);
      const expectedY = ser.reference.maxPool1d(x, xShape, c.p);
      if (c.x.some(Number.isNaN)) assert(expectedY.some(Number.isNaN), `${c.what}: the CPU reference drops the NaN`);
      assertSameWithNaN(await backend.download(ys), expectedY, `maxPool1d ${c.what}`);
      assertSameWithNaN(await backend.download(dxs), ser.reference.maxPool1dBackward(x, dy, xShape, c.p), `maxPool1dBackward ${c.what}`);
      for (const st of [xs, dys, ys, dxs]) backend.release(st);
    }
    // By hand, as torch.nn.functional.max_pool1d gives it: [nan, 5, 1, 2] -> nan, [0, 7, nan, 1] -> nan.
    const y = ser.reference.maxPool1d([N, 5, 1, 2, 0, 7, N, 1], [1, 1, 8], { kernelSize: 4, stride: 4, padding: 0 });
    assert(Number.isNaN(y[0]) && Number.isNaN(y[1]), `reference: [${Array.from(y).join(', ')}]`);
  },
};

// ------------------------------------------------------------------------------------------ statistics pooling

const STATS_EPS = 1e-5;

/** The means [N,C] and the sds [N,C] of a statsPool output [N,2C], apart: the sds are checked on their own
 * scale, which the means (offset by 1000 in one case) would swamp in a joint relative error. */
function halves(y: ArrayLike<number>, N: number, C: number): [number[], number[]] {
  const rows = Array.from({ length: N }, (_, n) => Array.from(y).slice(2 * n * C, 2 * (n + 1) * C));
  return [rows.flatMap((r) => r.slice(0, C)), rows.flatMap((r) => r.slice(C))];
}

/** statsPool and its backward on the GPU against the CPU reference; `offset` is added to every x. */
function statsCase(xShape: number[], seed: number, offset = 0, spread = 1): SuiteCase {
  return {
    family: 'pool1d',
    name: `statsPool forward and backward match the reference (x[${xShape}]${offset ? `, mean ${offset}, sd ${spread}` : ''})`,
    async run(ser) {
      const backend = ser.engine().backend;
      const [N, C] = xShape;
      const x = random(size(xShape), seed).map((v) => offset + spread * v);
      const y = Float32Array.from(ser.reference.statsPool(x, xShape, STATS_EPS));
      const dy = random(2 * N * C, seed + 1);
      const [xs, ys, dys] = [x, y, dy].map((a) => backend.upload(a));
      const yOut = ser.kernels.statsPool(backend, xs, xShape, STATS_EPS);
      const dxOut = ser.kernels.statsPoolBackward(backend, xs, ys, dys, xShape);
      const [gotMeans, gotSds] = halves(await backend.download(yOut), N, C);
      const [means, sds] = halves(y, N, C);
      assertClose(gotMeans, means, FORWARD_TOLERANCE, `statsPool means x[${xShape}]`);
      assertClose(gotSds, sds, FORWARD_TOLERANCE, `statsPool sds x[${xShape}]`);
      assertClose(await backend.download(dxOut), ser.reference.statsPoolBackward(x, y, dy, xShape), GRADIENT_TOLERANCE, `statsPoolBackward x[${xShape}]`);
      for (const st of [xs, ys, dys, yOut, dxOut]) backend.release(st);
    },
  };
}

/** statsPool of long rows of two alternating values against the float64 reference: a running float32 sum of n alike
 * terms loses up to ~n·2^-24 of it (3e-4 of these means and 1.5e-4 of their sds), the shader's pairwise sums ~3e-7. */
function statsLongRowsCase(xShape: number[]): SuiteCase {
  return {
    family: 'pool1d',
    name: `statsPool of long rows of alike values keeps their statistics (x[${xShape}])`,
    async run(ser) {
      const backend = ser.engine().backend;
      const [N, C, L] = xShape;
      const x = Float32Array.from({ length: size(xShape) }, (_, i) => 0.1 + 0.01 * (Math.floor(i / L) % 7) + (i % 2) * 0.3);
      const xs = backend.upload(x);
      const yOut = ser.kernels.statsPool(backend, xs, xShape, STATS_EPS);
      const [gotMeans, gotSds] = halves(await backend.download(yOut), N, C);
      const [means, sds] = halves(ser.reference.statsPool(x, xShape, STATS_EPS), N, C);
      assertClose(gotMeans, means, LONG_SUM, `statsPool means x[${xShape}]`);
      assertClose(gotSds, sds, LONG_SUM, `statsPool sds x[${xShape}]`);
      for (const st of [xs, yOut]) backend.release(st);
    },
  };
}

/** The reference backward against central differences of Σ r·statsPool(x). */
function statsFiniteDifferenceCase(xShape: number[], seed: number): SuiteCase {
  return {
    family: 'pool1d',
    name: `CPU statsPoolBackward matches finite differences (x[${xShape}])`,
    async run(ser) {
      const ref = ser.reference;
      const r = randn(2 * xShape[0] * xShape[1], seed);
      const x = randn(size(xShape), seed + 1);
      const numeric = numericGradient((v) => dot(r, ref.statsPool(v, xShape, STATS_EPS)), x);
      assertClose(ref.statsPoolBackward(x, ref.statsPool(x, xShape, STATS_EPS), r, xShape), numeric, 1e-6, 'statsPoolBackward vs finite differences');
    },
  };
}

/** The fused op against the elementwise ops the model composed before it (mean, sub, square, mean, + eps, sqrt,
 * concat), forward and backward on the same backend: trained checkpoints give the same numbers. */
const statsComposedCase: SuiteCase = {
  family: 'pool1d',
  name: 'statsPool gives what the composed elementwise ops gave, forward and backward',
  async run(ser) {
    const [N, C, L] = [3, 5, 75];
    const data = random(N * C * L, 41).map((v) => 0.5 + 2 * v);
    const dy = random(2 * N * C, 42);
    const composed = (h: Tensor) => {
      const m = ser.mean(h, 2, true);
      const sd = ser.sqrt(ser.affine(ser.mean(ser.square(ser.sub(h, m)), 2), 1, STATS_EPS));
      return ser.concat([ser.reshape(m, [N, C]), sd], 1);
    };
    const results = [];
    for (const f of [composed, (h: Tensor) => ser.statsPool(h, STATS_EPS)]) {
      const x = ser.tensor(data, [N, C, L], { requiresGrad: true });
      const y = f(x);
      await y.backward(ser.tensor(dy, y.shape));
      results.push({ y: await y.toArray(), dx: await x.grad!.toArray() });
    }
    assertClose(results[1].y, results[0].y, 1e-6, 'statsPool vs composed, forward');
    assertClose(results[1].dx, results[0].dx, 1e-5, 'statsPool vs composed, backward');
  },
};

export const pool1dCases: SuiteCase[] = [
  handTieCase,
  nanCase,
  gpuCase('pooling by 4 (kernel 4, stride 4), odd length', [2, 5, 1003], { kernelSize: 4, stride: 4, padding: 0 }, 11),
  // Rows of whole vec4s and outputs in whole vec4s: max pooling takes its vec4 kernel (pool1d-max-by4.wgsl).
  gpuCase('pooling by 4 of whole vec4s (kernel 4, stride 4, length 1004)', [2, 6, 1004], { kernelSize: 4, stride: 4, padding: 0 }, 25),
  gpuCase('ties in max, pooling by 4 of whole vec4s', [1, 4, 64], { kernelSize: 4, stride: 4, padding: 0 }, 26, true),
  gpuCase('overlapping windows with padding (kernel 3, stride 2, padding 1)', [3, 5, 37], { kernelSize: 3, stride: 2, padding: 1 }, 12),
  gpuCase('overlapping windows (kernel 5, stride 1, padding 2)', [2, 3, 101], { kernelSize: 5, stride: 1, padding: 2 }, 13),
  gpuCase('stride > kernel (kernel 2, stride 5)', [2, 3, 53], { kernelSize: 2, stride: 5, padding: 0 }, 14),
  gpuCase('stride > kernel with padding (kernel 3, stride 4, padding 1)', [3, 2, 46], { kernelSize: 3, stride: 4, padding: 1 }, 15),
  gpuCase('kernel as long as the padded input (Lout = 1)', [2, 3, 9], { kernelSize: 11, stride: 3, padding: 1 }, 16),
  gpuCase('batch 1, a single channel', [1, 1, 999], { kernelSize: 3, stride: 3, padding: 1 }, 17),
  gpuCase('batch 1, moderately large (kernel 4, stride 4)', [1, 67, 3001], { kernelSize: 4, stride: 4, padding: 0 }, 18),
  gpuCase('moderately large, overlapping (kernel 3, stride 2, padding 1)', [3, 33, 1999], { kernelSize: 3, stride: 2, padding: 1 }, 19),
  gpuCase('ties in max (kernel 4, stride 4)', [2, 7, 403], { kernelSize: 4, stride: 4, padding: 0 }, 20, true),
  gpuCase('ties in max, overlapping (kernel 3, stride 2, padding 1)', [2, 7, 401], { kernelSize: 3, stride: 2, padding: 1 }, 21, true),
  gpuCase('ties in max, overlapping (kernel 5, stride 1, padding 2)', [3, 5, 211], { kernelSize: 5, stride: 1, padding: 2 }, 22, true),
  gpuCase('ties in max, stride > kernel (kernel 2, stride 3, padding 1)', [2, 3, 100], { kernelSize: 2, stride: 3, padding: 1 }, 23, true),
  // rows·Lout outputs and rows·(L + 1) segments both past 65535 workgroups of 64 threads × 2 items: every
  // kernel runs on grid1d's 2-D fold.
  gpuCase('past 65535 workgroups (grid1d 2-D fold)', [1, 2897, 2897], { kernelSize: 2, stride: 1, padding: 1 }, 24, true),
  finiteDifferenceCase([2, 3, 11], { kernelSize: 3, stride: 2, padding: 1 }, 31),
  finiteDifferenceCase([1, 2, 13], { kernelSize: 5, stride: 1, padding: 2 }, 32),
  finiteDifferenceCase([2, 2, 12], { kernelSize: 4, stride: 4, padding: 0 }, 33),
  finiteDifferenceCase([1, 3, 10], { kernelSize: 2, stride: 3, padding: 1 }, 34),
  statsCase([1, 1, 1], 51), // L = 1: sd = sqrt(eps), dx = dmean
  statsCase([3, 5, 7], 52),
  statsCase([2, 7, 75], 53), // the default model's length, over more threads than values
  statsCase([5, 3, 129], 54),
  statsCase([5, 13, 1500], 60), // long rows, but many: a thread per row
  statsCase([1, 3, 4099], 55), // a few long rows: a workgroup per row, many values per thread
  statsCase([2, 3, 4001], 56, 1000, 0.01), // E[x²] − mean² would lose the variance entirely in float32
  statsCase([1, 67, 2001], 61, -300, 0.01), // the same with a thread per row
  statsCase([2, 2100001, 1], 57), // 4.2 M rows: past 65535 workgroups of 64 both ways (grid1d's 2-D fold)
  statsLongRowsCase([1, 65, 65536]), // a thread per row
  statsLongRowsCase([1, 1, 2097152]), // a workgroup per row, 2^15 values a thread
  statsFiniteDifferenceCase([2, 3, 11], 58),
  statsFiniteDifferenceCase([1, 2, 1], 59),
  statsComposedCase,
];

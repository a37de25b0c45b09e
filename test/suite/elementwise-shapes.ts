// Elementwise kernels that change shapes: sumTo and broadcastTo (bias gradients, means, full sums, up to 6
// alternating dims, millions of values), concat and slice along every axis, against the CPU reference, and the
// references' adjointness (sumTo/broadcastTo, concat/slice) against central finite differences.

import { againstReference, assert, assertClose, dot, numericGradient, randn, size, take, tiledRandn, type SuiteCase } from './harness.js';

const FORWARD_TOLERANCE = 1e-5;
/** Finite differences in float64 of float64 references agree far better than the GPU tolerances. */
const FD_TOLERANCE = 1e-6;

// ------------------------------------------------------------------------------------------ sumTo, broadcastTo

/** [shape, outShape]: bias gradients, means over one dim, full sums, column and row sums, odd sizes, vec4 and
 * scalar paths, the most alternating pattern (3 kept and 3 summed dims). */
const SUM_PATTERNS: [number[], number[]][] = [
  [[3, 4, 5], [1, 4, 1]],
  [[3, 4, 5], [3, 1, 1]],
  [[3, 4, 5], [1, 1, 5]],
  [[3, 4, 5], [1, 1, 1]],
  [[3, 4, 5], [3, 4, 5]],
  [[1, 4, 1], [1, 1, 1]],
  [[2, 3, 4, 8], [2, 1, 4, 1]],
  [[2, 3, 2, 3, 2, 3], [2, 1, 2, 1, 2, 1]],
  [[2, 3, 2, 3, 2, 3], [1, 3, 1, 3, 1, 3]],
  [[16, 7, 12001], [1, 7, 1]],
  [[16, 64, 12000], [1, 64, 1]],
  [[6, 10, 12001], [6, 10, 1]],
  [[6, 10, 1200], [6, 10, 1]],
  [[5, 1001, 3], [5, 1, 3]],
  [[1000, 37], [1, 37]],
  [[20000, 64], [1, 64]],
  [[16, 256], [1, 256]],
  [[7, 33], [7, 1]],
  [[1, 1_048_583], [1, 1]],
  [[4099, 3, 1], [1, 3, 1]],
];

const sumToCase: SuiteCase = {
  family: 'elementwise',
  name: `sumTo (${SUM_PATTERNS.length} patterns: bias gradients, means over a dim, full sums, column/row sums), scaled and not`,
  async run(ser) {
    for (const [k, [shape, outShape]] of SUM_PATTERNS.entries()) {
      // An offset keeps the sums away from zero; relative error is then about the reduction, not cancellation.
      const x = tiledRandn(size(shape), 1300 + k).map((v) => v + 0.5);
      await againstReference(ser, 'sumTo', [x, shape, outShape], FORWARD_TOLERANCE, `sumTo [${shape}] → [${outShape}]`);
      // A mean's 1/count or a difference's −1, folded into the last level of the reduction.
      await againstReference(ser, 'sumTo', [x, shape, outShape, -1 / 3], FORWARD_TOLERANCE, `−⅓ · sumTo [${shape}] → [${outShape}]`);
    }
  },
};

const largeSumCase: SuiteCase = {
  family: 'elementwise',
  name: 'sumTo of millions of values to one: relative error < 1e-5 against float64 (zero-mean and positive data)',
  async run(ser) {
    const backend = ser.engine().backend;
    const ref = ser.reference;
    for (const [k, [n, offset]] of [[1_500_007, 0], [4_000_000, 1], [12_288_000, 0.01]].entries()) {
      const x = tiledRandn(n, 1400 + k).map((v) => v + offset);
      const xs = backend.upload(x);
      const sum = await take(ser, ser.kernels.sumTo(backend, xs, [n], [1]));
      const expected = ref.sumTo(x, [n], [1]);
      const err = Math.abs(sum[0] - expected[0]) / Math.abs(expected[0]);
      assert(err < 1e-5, `sum of ${n} values: ${sum[0]} vs ${expected[0]}, relative error ${err.toExponential(2)}`);
      backend.release(xs);
    }
  },
};

const broadcastToCase: SuiteCase = {
  family: 'elementwise',
  name: 'broadcastTo (the sumTo patterns in reverse) and sumTo/broadcastTo adjointness vs finite differences',
  async run(ser) {
    const ref = ser.reference;
    for (const [k, [outShape, shape]] of SUM_PATTERNS.entries()) {
      const x = tiledRandn(size(shape), 1500 + k);
      await againstReference(ser, 'broadcastTo', [x, shape, outShape], FORWARD_TOLERANCE, `broadcastTo [${shape}] → [${outShape}]`);
    }
    // The gradient of Σ r·sumTo(x) is broadcastTo(r), and of Σ r·broadcastTo(x) is sumTo(r).
    for (const [k, [big, small]] of [[[3, 4, 5], [1, 4, 1]], [[2, 3, 2, 3], [2, 1, 1, 3]], [[4, 6], [1, 1]]].entries()) {
      const x = Float64Array.from(randn(size(big), 1600 + k));
      const r = randn(size(small), 1700 + k);
      assertClose(ref.broadcastTo(r, small, big), numericGradient((p) => dot(r, ref.sumTo(p, big, small)), x), FD_TOLERANCE, `sumTo [${big}] → [${small}] backward`);
      const xSmall = Float64Array.from(randn(size(small), 1800 + k));
      const rBig = randn(size(big), 1900 + k);
      assertClose(ref.sumTo(rBig, big, small), numericGradient((p) => dot(rBig, ref.broadcastTo(p, small, big)), xSmall), FD_TOLERANCE, `broadcastTo [${small}] → [${big}] backward`);
    }
  },
};

// ------------------------------------------------------------------------------------------ concat, slice

/** [shapes, axis]: every axis, uneven and single-element parts, vec4-aligned blocks and not. */
const CONCAT_PATTERNS: [number[][], number][] = [
  [[[2, 3, 5], [2, 1, 5], [2, 4, 5]], 1],
  [[[3, 3, 5], [1, 3, 5]], 0],
  [[[2, 3, 5], [2, 3, 1], [2, 3, 7]], 2],
  [[[16, 256], [16, 2]], 1],
  [[[16, 256], [16, 4], [16, 8]], 1],
  [[[1, 7]], 1],
  [[[5, 2, 1000], [5, 3, 1000]], 1],
  [[[33, 1001], [33, 999]], 1],
];

const concatSliceCase: SuiteCase = {
  family: 'elementwise',
  name: `concat and slice along every axis (${CONCAT_PATTERNS.length} patterns)`,
  async run(ser) {
    const backend = ser.engine().backend;
    const ref = ser.reference;
    for (const [k, [shapes, axis]] of CONCAT_PATTERNS.entries()) {
      const xs = shapes.map((s, i) => randn(size(s), 2000 + 10 * k + i));
      const stores = xs.map((x) => backend.upload(x));
      const outShape = [...shapes[0]];
      outShape[axis] = shapes.reduce((s, t) => s + t[axis], 0);
      const cs = ser.kernels.concat(backend, stores, shapes, axis);
      const what = `concat ${shapes.map((s) => `[${s}]`).join(' ')} along ${axis}`;
      assertClose(await backend.download(cs), ref.concat(xs, shapes, axis), 0, what);
      let start = 0;
      for (const [i, s] of shapes.entries()) {
        const part = await take(ser, ser.kernels.slice(backend, cs, outShape, axis, start, s[axis]));
        assertClose(part, xs[i], 0, `slice ${i} of ${what}`);
        assertClose(part, ref.slice(ref.concat(xs, shapes, axis), outShape, axis, start, s[axis]), 0, `reference slice ${i} of ${what}`);
        start += s[axis];
      }
      // An interior slice that crosses the parts.
      if (outShape[axis] > 2) {
        const part = await take(ser, ser.kernels.slice(backend, cs, outShape, axis, 1, outShape[axis] - 2));
        assertClose(part, ref.slice(ref.concat(xs, shapes, axis), outShape, axis, 1, outShape[axis] - 2), 0, `interior slice of ${what}`);
      }
      for (const s of [cs, ...stores]) backend.release(s);
    }
  },
};

const concatAdjointCase: SuiteCase = {
  family: 'elementwise',
  name: 'concat/slice adjointness: the gradient of Σ r·concat(xs) for each x is slice(r), vs finite differences',
  async run(ser) {
    const ref = ser.reference;
    for (const [k, [shapes, axis]] of CONCAT_PATTERNS.slice(0, 3).entries()) {
      const xs = shapes.map((s, i) => Float64Array.from(randn(size(s), 2100 + 10 * k + i)));
      const outShape = [...shapes[0]];
      outShape[axis] = shapes.reduce((s, t) => s + t[axis], 0);
      const r = randn(size(outShape), 2200 + k);
      let start = 0;
      for (const [i, s] of shapes.entries()) {
        const numeric = numericGradient((p) => dot(r, ref.concat(xs.map((x, j) => (j === i ? p : x)), shapes, axis)), xs[i]);
        assertClose(ref.slice(r, outShape, axis, start, s[axis]), numeric, FD_TOLERANCE, `d/dx${i} of concat along ${axis}`);
        start += s[axis];
      }
    }
  },
};

export const shapeCases: SuiteCase[] = [sumToCase, largeSumCase, broadcastToCase, concatSliceCase, concatAdjointCase];

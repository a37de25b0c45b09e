// Elementwise kernels: every WebGPU op against the CPU reference (odd sizes, every broadcasting pattern the
// engine uses, innermost dims that are multiples of 4 and not (the Rows and Flat kernels), sizes past grid1d's
// 2-D fold, sumTo reductions of millions of values to a few or to one), and the CPU references' backward passes (unaryBackward, binary's gradient through sumTo,
// sumTo/broadcastTo and concat/slice as adjoint pairs) against central finite differences.

import { UNARY_OPS } from '../../src/kernels/cpu/elementwise.js';
import type { Backend, BinaryOp, UnaryOp } from '../../src/kernels/index.js';
import { againstReference, assert, assertClose, dot, numericGradient, randn, size, take, tiledRandn, type Ser, type SuiteCase } from './harness.js';
import { shapeCases } from './elementwise-shapes.js';

const FORWARD_TOLERANCE = 1e-5;
const GRADIENT_TOLERANCE = 1e-4;
/** Finite differences in float64 of float64 references agree far better than the GPU tolerances. */
const FD_TOLERANCE = 1e-6;

const BINARY_OPS: BinaryOp[] = ['add', 'sub', 'mul', 'div'];
/** Ops with a kink at 0, where the GPU must give torch's one-sided derivative. */
const KINKED: UnaryOp[] = ['relu', 'abs', 'leakyRelu'];

/** Inputs inside the op's domain: positive for log and sqrt, some exact zeros for the kinked ops. */
function unaryInput(op: UnaryOp, n: number, seed: number): Float32Array {
  const x = randn(n, seed);
  if (op === 'log' || op === 'sqrt') return x.map((v) => Math.abs(v) + 0.05);
  if (KINKED.includes(op)) for (let i = 0; i < n; i += 7) x[i] = 0;
  return x;
}

/** Values bounded away from 0 (divisors). */
function awayFromZero(n: number, seed: number): Float32Array {
  return randn(n, seed).map((v) => (v < 0 ? v - 0.5 : v + 0.5));
}

// ------------------------------------------------------------------------------------------ unary

const UNARY_SIZES = [1, 7, 1023, 100_003];

function unaryCase(op: UnaryOp): SuiteCase {
  return {
    family: 'elementwise',
    name: `unary ${op} and its backward, sizes ${UNARY_SIZES.join(', ')}`,
    async run(ser) {
      const backend = ser.engine().backend;
      const ref = ser.reference;
      for (const [k, n] of UNARY_SIZES.entries()) {
        const x = unaryInput(op, n, 100 + k);
        const dy = randn(n, 200 + k);
        const xs = backend.upload(x);
        const dys = backend.upload(dy);
        const ys = ser.kernels.unary(backend, op, xs);
        const dxs = ser.kernels.unaryBackward(backend, op, xs, ys, dys);
        const y = await backend.download(ys);
        assertClose(y, ref.unary(op, x), FORWARD_TOLERANCE, `${op} [${n}]`);
        // The backward from the GPU's own y, as autograd calls it.
        assertClose(await take(ser, dxs), ref.unaryBackward(op, x, y, dy), GRADIENT_TOLERANCE, `${op} backward [${n}]`);
        for (const s of [xs, dys, ys]) backend.release(s);
      }
    },
  };
}

function unaryGradientCase(op: UnaryOp): SuiteCase {
  return {
    family: 'elementwise',
    name: `unaryBackward ${op} reference vs finite differences`,
    async run(ser) {
      const ref = ser.reference;
      // Away from the kinks: finite differences straddling 0 would average the two sides.
      const x = Float64Array.from(unaryInput(op, 13, 300), (v) => (KINKED.includes(op) && Math.abs(v) < 0.01 ? 0.3 : v));
      const r = randn(13, 301);
      const numeric = numericGradient((p) => dot(r, ref.unary(op, p)), x);
      const analytic = ref.unaryBackward(op, x, ref.unary(op, x), r);
      assertClose(analytic, numeric, FD_TOLERANCE, `${op} backward vs finite differences`);
    },
  };
}

/** A case of this family, its body given the backend and the CPU reference. */
function elementwiseCase(name: string, body: (ser: Ser, backend: Backend, ref: Ser['reference']) => Promise<void>): SuiteCase {
  return { family: 'elementwise', name, run: (ser) => body(ser, ser.engine().backend, ser.reference) };
}

const kinkCase = elementwiseCase('unaryBackward at 0: relu and abs give 0, leakyRelu its slope (as torch)', async (ser, backend) => {
  const x = new Float32Array([0, 0, 0, 0, 0]);
  const dy = new Float32Array([1, -2, 3, 0.5, 4]);
  const xs = backend.upload(x);
  const dys = backend.upload(dy);
  for (const [op, expected] of [['relu', [0, 0, 0, 0, 0]], ['abs', [0, 0, 0, 0, 0]], ['leakyRelu', [0.01, -0.02, 0.03, 0.005, 0.04]]] as const) {
    const ys = ser.kernels.unary(backend, op, xs);
    const dx = await take(ser, ser.kernels.unaryBackward(backend, op, xs, ys, dys));
    backend.release(ys);
    assertClose(dx, expected, 1e-6, `${op}'(0)`);
  }
  backend.release(xs);
  backend.release(dys);
});

const saturationCase = elementwiseCase('tanh, sigmoid, gelu and silu saturate without NaN at large |x|', async (ser, backend, ref) => {
  const x = new Float32Array([-200, -60, -20, -9.5, 9.5, 20, 60, 200, 0.5]);
  const xs = backend.upload(x);
  for (const op of ['tanh', 'sigmoid', 'gelu', 'silu'] as const) {
    const ys = ser.kernels.unary(backend, op, xs);
    const dxs = ser.kernels.unaryBackward(backend, op, xs, ys, xs);
    const y = await backend.download(ys);
    const dx = await take(ser, dxs);
    backend.release(ys);
    assert(!y.some(Number.isNaN) && !dx.some(Number.isNaN), `${op}: NaN at large |x|: ${y} / ${dx}`);
    assertClose(y, ref.unary(op, x), FORWARD_TOLERANCE, `${op} saturated`);
  }
  backend.release(xs);
});

// ------------------------------------------------------------------------------------------ binary

/** [aShape, bShape] pairs (out = elementwise max): same shapes, the engine's broadcasting patterns, odd sizes,
 * innermost dims of multiples of 4 (the Rows kernels) and not (Flat, with rows shorter than 4 too), operands
 * broadcasting on both sides. */
const BROADCAST_PATTERNS: [number[], number[]][] = [
  [[5, 7, 9], [5, 7, 9]],
  [[3, 1, 5], [1, 4, 1]],
  [[3, 5, 37], [1, 5, 1]],
  [[3, 5, 40], [1, 5, 1]],
  [[1, 5, 1], [3, 5, 37]],
  [[1, 1, 1], [4, 3, 11]],
  [[4, 3, 11], [1, 1, 1]],
  [[2, 3, 4, 8], [2, 1, 4, 1]],
  [[2, 1, 6, 1], [1, 3, 1, 4]],
  [[6, 9], [6, 1]],
  [[6, 9], [1, 9]],
  [[1, 4, 12], [3, 4, 12]],
  [[2, 3, 2, 3, 2, 3], [2, 1, 2, 1, 2, 1]],
  [[1, 1], [1, 1]],
  [[16, 24, 1001], [1, 24, 1]],
  [[16, 24, 1000], [16, 1, 1000]],
  [[5, 3], [5, 1]],
  [[7, 2], [1, 2]],
  [[3, 7, 1], [3, 1, 1]],
];

const broadcastShape = (a: number[], b: number[]) => a.map((d, i) => Math.max(d, b[i]));

function binaryCase(op: BinaryOp): SuiteCase {
  return {
    family: 'elementwise',
    name: `binary ${op} with broadcasting (${BROADCAST_PATTERNS.length} shape pairs)`,
    async run(ser) {
      for (const [k, [aShape, bShape]] of BROADCAST_PATTERNS.entries()) {
        const outShape = broadcastShape(aShape, bShape);
        const a = randn(size(aShape), 400 + k);
        const b = op === 'div' ? awayFromZero(size(bShape), 500 + k) : randn(size(bShape), 500 + k);
        await againstReference(ser, 'binary', [op, a, aShape, b, bShape, outShape], FORWARD_TOLERANCE, `${op} [${aShape}] ∘ [${bShape}]`);
      }
    },
  };
}

/** The gradients of a ∘ b as ops.ts forms them: the full-shape product, summed down to each operand's shape. */
function binaryGradients(ser: Ser, op: BinaryOp, a: ArrayLike<number>, aShape: number[], b: ArrayLike<number>, bShape: number[], g: ArrayLike<number>) {
  const ref = ser.reference;
  const outShape = broadcastShape(aShape, bShape);
  const full = (op: BinaryOp, u: ArrayLike<number>, uShape: number[]) => ref.binary(op, g, outShape, u, uShape, outShape);
  const y = ref.binary(op, a, aShape, b, bShape, outShape);
  const gaFull = op === 'add' || op === 'sub' ? Float64Array.from(g) : op === 'mul' ? full('mul', b, bShape) : full('div', b, bShape);
  const gbFull =
    op === 'add' ? Float64Array.from(g)
    : op === 'sub' ? ref.affine(g, -1, 0)
    : op === 'mul' ? full('mul', a, aShape)
    : ref.affine(ref.binary('mul', g, outShape, ref.binary('div', y, outShape, b, bShape, outShape), outShape, outShape), -1, 0);
  return { ga: ref.sumTo(gaFull, outShape, aShape), gb: ref.sumTo(gbFull, outShape, bShape), gaFull, gbFull, outShape };
}

function binaryGradientCase(op: BinaryOp): SuiteCase {
  return {
    family: 'elementwise',
    name: `binary ${op} gradient through sumTo: reference vs finite differences, GPU vs reference`,
    async run(ser) {
      const ref = ser.reference;
      const patterns: [number[], number[]][] = [[[3, 1, 5], [1, 4, 1]], [[2, 3, 4], [1, 3, 1]], [[1, 1, 1], [2, 3, 2]], [[2, 4], [2, 4]]];
      for (const [k, [aShape, bShape]] of patterns.entries()) {
        const outShape = broadcastShape(aShape, bShape);
        const a = Float64Array.from(randn(size(aShape), 600 + k));
        const b = Float64Array.from(op === 'div' ? awayFromZero(size(bShape), 700 + k) : randn(size(bShape), 700 + k));
        const r = randn(size(outShape), 800 + k);
        const { ga, gb, gaFull, gbFull } = binaryGradients(ser, op, a, aShape, b, bShape, r);
        const what = `${op} [${aShape}] ∘ [${bShape}]`;
        assertClose(ga, numericGradient((p) => dot(r, ref.binary(op, p, aShape, b, bShape, outShape)), a), FD_TOLERANCE, `d/da ${what}`);
        assertClose(gb, numericGradient((p) => dot(r, ref.binary(op, a, aShape, p, bShape, outShape)), b), FD_TOLERANCE, `d/db ${what}`);
        // The GPU's sumTo of the same full-shape gradients.
        for (const [full, shape, name] of [[gaFull, aShape, 'a'], [gbFull, bShape, 'b']] as const) {
          await againstReference(ser, 'sumTo', [Float32Array.from(full), outShape, shape], GRADIENT_TOLERANCE, `GPU sumTo of d/d${name} ${what}`);
        }
      }
    },
  };
}

/** More than 65535 workgroups, so grid1d folds the grid into 2-D: slice and concat of rows of 257 (two
 * workgroups per row). The other kernels share the fold but reach it only past 33 million values (lavapipe
 * binds at most 128 MiB), so the case also sums the rows of the same input (32769 outputs). */
const foldCase: SuiteCase = {
  family: 'elementwise',
  name: 'more than 65535 workgroups (2-D grid fold): slice and concat of [32769, 300]; its row sums',
  async run(ser) {
    const shape = [32_769, 300];
    const x = tiledRandn(size(shape), 900);
    await againstReference(ser, 'slice', [x, shape, 1, 1, 257], 0, `slice [${shape}] [1, 258)`);
    const shapes = [[shape[0], 257], shape];
    await againstReference(ser, 'concat', [[randn(shape[0] * 257, 901), x], shapes, 1], 0, `concat [${shapes[0]}] [${shape}]`);
    await againstReference(ser, 'sumTo', [x, shape, [shape[0], 1]], FORWARD_TOLERANCE, `sumTo [${shape}] → [${shape[0]}, 1]`);
  },
};

// ------------------------------------------------------------------------------------------ affine, accumulate, fill

const affineAccumulateFillCase = elementwiseCase('affine, accumulate (in place, and onto itself) and fill at odd sizes', async (ser, backend, ref) => {
  for (const [k, n] of [1, 3, 4, 257, 100_001].entries()) {
    const x = randn(n, 1000 + k);
    const acc = randn(n, 1100 + k);
    await againstReference(ser, 'affine', [x, -1.75, 0.3], FORWARD_TOLERANCE, `affine [${n}]`);
    const xs = backend.upload(x);
    const accs = backend.upload(acc);
    ser.kernels.accumulate(backend, accs, xs);
    assertClose(await backend.download(accs), ref.accumulate(acc, x), FORWARD_TOLERANCE, `accumulate [${n}]`);
    ser.kernels.accumulate(backend, accs, accs);
    const twice = ref.accumulate(ref.accumulate(acc, x), ref.accumulate(acc, x));
    assertClose(await backend.download(accs), twice, FORWARD_TOLERANCE, `accumulate onto itself [${n}]`);
    // acc = α·acc + β·x (batch norm's running averages), and onto itself: (α + β)·acc.
    ser.kernels.accumulate(backend, accs, xs, 0.9, -0.35);
    const mixed = ref.accumulate(twice, x, 0.9, -0.35);
    assertClose(await backend.download(accs), mixed, FORWARD_TOLERANCE, `0.9·acc − 0.35·x [${n}]`);
    ser.kernels.accumulate(backend, accs, accs, 0.9, -0.35);
    assertClose(await take(ser, accs), ref.affine(mixed, 0.55, 0), FORWARD_TOLERANCE, `0.9·acc − 0.35·acc [${n}]`);
    const filled = await take(ser, ser.kernels.fill(backend, n, -2.5));
    assert(filled.length === n && filled.every((v) => v === -2.5), `fill [${n}] with -2.5`);
    backend.release(xs);
  }
  // Backward of affine (ops.ts: dx = alpha·dy) against finite differences.
  const x = Float64Array.from(randn(9, 1200));
  const r = randn(9, 1201);
  assertClose(ref.affine(r, -1.75, 0), numericGradient((p) => dot(r, ref.affine(p, -1.75, 0.3)), x), FD_TOLERANCE, 'affine backward vs finite differences');
});

export const elementwiseCases: SuiteCase[] = [
  ...UNARY_OPS.map(unaryCase),
  ...UNARY_OPS.map(unaryGradientCase),
  kinkCase,
  saturationCase,
  ...BINARY_OPS.map(binaryCase),
  ...BINARY_OPS.map(binaryGradientCase),
  foldCase,
  affineAccumulateFillCase,
  ...shapeCases,
];

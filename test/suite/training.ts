// The training kernels (families normalization and softmax; optim has optim.ts) against the CPU reference, and
// the reference's backward passes against central finite differences in float64. Sizes are odd on purpose
// (nothing a multiple of a workgroup or a tile), from a single row to enough work for several workgroups per
// reduction.

import type { Backend, Storage } from '../../src/kernels/index.js';
import { assert, assertClose, dot, numericGradient, type Ser, type SuiteCase } from './harness.js';
import { f32, FD, FORWARD, fresh, GRADIENT, seededByName, withBackend } from './training-data.js';

/** Sums over a long axis (the cases of alike terms below): running float32 sums lost 8e-5..4e-4 there (of the loss,
 * Σ w[t], softmax's y), the tree (sumTo) and pairwise sums ≤ 5e-7. */
const LONG_SUM = 1e-5;

/** Class indices in [0, cols), one per row. */
function randomTargets(rows: number, cols: number): Int32Array {
  return Int32Array.from(fresh(rows), (v) => Math.floor(Math.abs(v) * 7919) % cols);
}

/** Positive class weights, all different. */
const randomWeights = (cols: number) => fresh(cols).map((v) => 0.25 + Math.abs(v));

// ---------------------------------------------------------------------------------------------------------------
// normalization: x [N, C, L]

// Channels (M = N·L values) of up to 1024 values are reduced by a thread each (direct), up to 65536 by a workgroup
// each in one pass (single), longer ones by workgroups over chunks (chunked); rows (L) of 256 or more are covered
// a row at a time by the elementwise passes, shorter ones by a flat walk. The list holds each path and both sides
// of each threshold (checked by the first case below).
const bnShapes: number[][] = [
  [1, 3, 33], // direct: batch 1, short rows
  [3, 5, 301], // direct, long rows (eight items per thread)
  [7, 17, 1], // direct: [N, C] given as [N, C, 1]
  [1024, 2, 1], // direct at its threshold
  [2, 65537, 1], // direct: more channels than one grid dimension holds
  [1025, 2, 1], // single just past direct's threshold, L = 1
  [2049, 3, 1], // single, L = 1
  [97, 5, 13], // single, short rows (the walk wraps rows)
  [5, 3, 1201],
  [16, 17, 1201],
  [4, 3, 16384], // single at its threshold
  [1, 2, 65537], // chunked just past single's threshold
  [65537, 2, 1], // chunked, L = 1
  [16, 3, 12001], // chunked, many chunks per channel
];
const bnPaths = { direct: [1, 1024], single: [1025, 65536], chunked: [65537, Infinity] };
const EPS = 1e-5;

/** Per-channel offsets and scales, so that means and variances differ across channels. */
function channelData(shape: number[], offset = 3): Float32Array {
  const [N, C, L] = shape;
  const centre = fresh(C, offset);
  const spread = fresh(C).map((v) => 0.5 + Math.abs(v));
  const x = fresh(N * C * L);
  for (let i = 0; i < x.length; i++) {
    const c = Math.floor(i / L) % C;
    x[i] = x[i] * spread[c] + centre[c];
  }
  return x;
}

/** Runs `check` once per workgroup size of the single-workgroup path where the shape takes it (the device picks
 * one, 64 on CPU drivers and 256 on GPUs; both are checked on any device), else once. */
async function eachSingleThreads(ser: Ser, shape: number[], check: (what: string) => Promise<void>): Promise<void> {
  const counts = ser.kernels.batchNormPath(shape) === 'single' ? [64, 256] : [null];
  for (const threads of counts) {
    ser.kernels.setBatchNormSingleThreads(threads);
    try {
      await check(threads ? ` (${threads} threads)` : '');
    } finally {
      ser.kernels.setBatchNormSingleThreads(null);
    }
  }
}

const normalizationCases: SuiteCase[] = [
  {
    family: 'normalization',
    name: 'the batch-norm shapes cover every reduction path and both sides of each threshold',
    run: async (ser) => {
      for (const [path, [lo, hi]] of Object.entries(bnPaths)) {
        const ms = bnShapes.filter((s) => ser.kernels.batchNormPath(s) === path).map(([N, , L]) => N * L);
        assert(ms.length > 0 && ms.every((m) => m >= lo && m <= hi), `${path}: channel lengths ${ms} within [${lo}, ${hi}]`);
        for (const edge of [lo, hi]) if (Number.isFinite(edge) && edge > 1) assert(ms.includes(edge), `${path}: a shape with M = ${edge}`);
      }
    },
  },
  ...bnShapes.map((shape) => ({
    family: 'normalization',
    name: `batchNormStats (and the running update) x[${shape}]`,
    run: (ser: Ser) =>
      withBackend(ser, async (b, keep) => {
        const [N, C, L] = shape;
        const x = channelData(shape);
        const ref = ser.reference.batchNormStats(x, shape);
        const xs = keep(b.upload(x));
        const M = N * L;
        await eachSingleThreads(ser, shape, async (threads) => {
          const s = ser.kernels.batchNormStats(b, xs, shape);
          keep(s.mean);
          keep(s.variance);
          assertClose(await b.download(s.mean), ref.mean, FORWARD, `mean${threads}`);
          assertClose(await b.download(s.variance), ref.variance, FORWARD, `variance${threads}`);
          // Training: the same statistics, and the running averages updated in place (momentum as torch's,
          // the running variance unbiased).
          const [runningMean, runningVar] = [fresh(C), fresh(C).map((v) => 0.5 + Math.abs(v))];
          const running = { mean: keep(b.upload(runningMean)), variance: keep(b.upload(runningVar)), momentum: 0.3 };
          const t = ser.kernels.batchNormStats(b, xs, shape, running);
          keep(t.mean);
          keep(t.variance);
          assertClose(await b.download(t.mean), ref.mean, FORWARD, `mean (training)${threads}`);
          assertClose(await b.download(t.variance), ref.variance, FORWARD, `variance (training)${threads}`);
          const wantMean = ser.reference.batchNormRunning(runningMean, f32(ref.mean), 0.3, 1);
          const wantVar = ser.reference.batchNormRunning(runningVar, f32(ref.variance), 0.3, M / (M - 1));
          assertClose(await b.download(running.mean), wantMean, FORWARD, `running mean${threads}`);
          assertClose(await b.download(running.variance), wantVar, FORWARD, `running variance${threads}`);
        });
      }),
  })),
  // Each path: chunked, single, direct.
  ...[
    [16, 3, 12001],
    [4, 3, 16384],
    [1024, 2, 1],
  ].map((shape) => ({
    family: 'normalization',
    name: `batchNormStats stays accurate for a mean 200 standard deviations from zero x[${shape}]`,
    run: (ser: Ser) =>
      withBackend(ser, async (b, keep) => {
        const x = fresh(shape[0] * shape[1] * shape[2], 1, 200);
        const ref = ser.reference.batchNormStats(x, shape);
        const s = ser.kernels.batchNormStats(b, keep(b.upload(x)), shape);
        keep(s.mean);
        keep(s.variance);
        assertClose(await b.download(s.mean), ref.mean, FORWARD, 'mean');
        // One-pass sums of squares would lose every digit here (x² ≈ 4e4 against a variance of 1).
        assertClose(await b.download(s.variance), ref.variance, 1e-4, 'variance');
      }),
  })),
  ...bnShapes.map((shape) => ({
    family: 'normalization',
    name: `batchNormApply (and fused relu) x[${shape}]`,
    run: (ser: Ser) =>
      withBackend(ser, async (b, keep) => {
        const C = shape[1];
        const x = channelData(shape);
        const stats = ser.reference.batchNormStats(x, shape);
        const gamma = fresh(C, 1, 1);
        const beta = fresh(C);
        const [xs, ms, vs, gs, bs] = [x, f32(stats.mean), f32(stats.variance), gamma, beta].map((a) => keep(b.upload(a)));
        for (const relu of [false, true]) {
          const ref = ser.reference.batchNormApply(x, shape, f32(stats.mean), f32(stats.variance), gamma, beta, EPS, relu);
          if (relu) assert(ref.some((v) => v === 0) && ref.some((v) => v > 0), 'the fused relu case has both signs');
          const y = keep(ser.kernels.batchNormApply(b, xs, shape, ms, vs, gs, bs, EPS, relu));
          assertClose(await b.download(y), ref, FORWARD, relu ? 'relu(y)' : 'y');
        }
      }),
  })),
  ...bnShapes.map((shape) => ({
    family: 'normalization',
    name: `batchNormForward (training: statistics, running update and y, with and without the fused relu) x[${shape}]`,
    run: (ser: Ser) =>
      withBackend(ser, async (b, keep) => {
        const [N, C, L] = shape;
        const M = N * L;
        const x = channelData(shape);
        const stats = ser.reference.batchNormStats(x, shape);
        const gamma = fresh(C, 1, 1);
        const beta = fresh(C);
        const [xs, gs, bs] = [x, gamma, beta].map((a) => keep(b.upload(a)));
        for (const relu of [false, true]) {
          // y from the float32 statistics, as the kernel normalises with those.
          const want = ser.reference.batchNormApply(x, shape, f32(stats.mean), f32(stats.variance), gamma, beta, EPS, relu);
          if (relu) assert(want.some((v) => v === 0) && want.some((v) => v > 0), 'the fused relu case has both signs');
          await eachSingleThreads(ser, shape, async (threads) => {
            const what = (relu ? ' (fused relu)' : '') + threads;
            const [runningMean, runningVar] = [fresh(C), fresh(C).map((v) => 0.5 + Math.abs(v))];
            const running = { mean: keep(b.upload(runningMean)), variance: keep(b.upload(runningVar)), momentum: 0.3 };
            const f = ser.kernels.batchNormForward(b, xs, shape, gs, bs, EPS, relu, running);
            [f.y, f.mean, f.variance].forEach(keep);
            assertClose(await b.download(f.y), want, FORWARD, `y${what}`);
            assertClose(await b.download(f.mean), stats.mean, FORWARD, `mean${what}`);
            assertClose(await b.download(f.variance), stats.variance, FORWARD, `variance${what}`);
            assertClose(await b.download(running.mean), ser.reference.batchNormRunning(runningMean, f32(stats.mean), 0.3, 1), FORWARD, `running mean${what}`);
            assertClose(await b.download(running.variance), ser.reference.batchNormRunning(runningVar, f32(stats.variance), 0.3, M / (M - 1)), FORWARD, `running variance${what}`);
          });
        }
      }),
  })),
  ...bnShapes.map((shape) => ({
    family: 'normalization',
    name: `batchNormBackward (and through the fused relu) x[${shape}]`,
    run: (ser: Ser) =>
      withBackend(ser, async (b, keep) => {
        const C = shape[1];
        const x = channelData(shape);
        const dy = fresh(x.length);
        const stats = ser.reference.batchNormStats(x, shape);
        const [mean, variance] = [f32(stats.mean), f32(stats.variance)];
        const gamma = fresh(C, 1, 1);
        const beta = fresh(C);
        // The output of the fused relu (about half of it zero), whose zeros mask dy in the fused variant.
        const y = f32(ser.reference.batchNormApply(x, shape, mean, variance, gamma, beta, EPS, true));
        const [xs, dys, ms, vs, gs, ys] = [x, dy, mean, variance, gamma, y].map((a) => keep(b.upload(a)));
        for (const relu of [false, true]) {
          const ref = ser.reference.batchNormBackward(x, relu ? dy.map((g, i) => (y[i] > 0 ? g : 0)) : dy, shape, mean, variance, gamma, EPS);
          await eachSingleThreads(ser, shape, async (threads) => {
            const g = ser.kernels.batchNormBackward(b, xs, dys, shape, ms, vs, gs, EPS, relu ? ys : undefined);
            [g.dx, g.dgamma, g.dbeta].forEach(keep);
            const what = (relu ? ' (fused relu)' : '') + threads;
            assertClose(await b.download(g.dx), ref.dx, GRADIENT, `dx${what}`);
            assertClose(await b.download(g.dgamma), ref.dgamma, GRADIENT, `dgamma${what}`);
            assertClose(await b.download(g.dbeta), ref.dbeta, GRADIENT, `dbeta${what}`);
          });
        }
      }),
  })),
  ...[
    [3, 2, 5],
    [4, 3, 1],
    [1, 2, 7],
  ].map((shape) => ({
    family: 'normalization',
    name: `batchNormBackward reference vs finite differences x[${shape}]`,
    run: async (ser: Ser) => {
      const ref = ser.reference;
      const C = shape[1];
      const x = channelData(shape, 1);
      const gamma = fresh(C, 1, 1);
      const beta = fresh(C);
      const r = fresh(x.length);
      // The training-mode loss: the statistics are recomputed from x, so the gradient flows through them.
      const loss = (xv: ArrayLike<number>, g: ArrayLike<number>, bt: ArrayLike<number>) => {
        const s = ref.batchNormStats(xv, shape);
        return dot(r, ref.batchNormApply(xv, shape, s.mean, s.variance, g, bt, EPS));
      };
      const s = ref.batchNormStats(x, shape);
      const analytic = ref.batchNormBackward(x, r, shape, s.mean, s.variance, gamma, EPS);
      assertClose(analytic.dx, numericGradient((xv) => loss(xv, gamma, beta), x), FD, 'dx');
      assertClose(analytic.dgamma, numericGradient((g) => loss(x, g, beta), gamma), FD, 'dgamma');
      assertClose(analytic.dbeta, numericGradient((bt) => loss(x, gamma, bt), beta), FD, 'dbeta');
    },
  })),
];

// ---------------------------------------------------------------------------------------------------------------
// softmax: [rows, cols]

const softmaxSizes: [number, number][] = [];
for (const rows of [1, 7, 33]) for (const cols of [3, 5, 259]) softmaxSizes.push([rows, cols]);
// Many rows (a thread each), and a few very long rows (a workgroup each); the cross-entropy's one-workgroup
// limit (256 rows) and one past it.
softmaxSizes.push([1537, 259], [3, 4099], [33, 1031], [256, 5], [257, 5]);

/** A case of every softmax size, without and with class weights: `name` is followed by [rows,cols]. */
function withAndWithoutWeights(name: string, check: (ser: Ser, b: Backend, keep: (s: Storage) => Storage, rows: number, cols: number, weighted: boolean) => Promise<void>): SuiteCase[] {
  return softmaxSizes.flatMap(([rows, cols]) =>
    [false, true].map((weighted) => ({
      family: 'softmax',
      name: `${name}[${rows},${cols}]${weighted ? ' with class weights' : ''}`,
      run: (ser: Ser) => withBackend(ser, (b, keep) => check(ser, b, keep, rows, cols, weighted)),
    })),
  );
}

const softmaxCases: SuiteCase[] = [
  ...softmaxSizes.map(([rows, cols]) => ({
    family: 'softmax',
    name: `softmax x[${rows},${cols}]`,
    run: (ser: Ser) =>
      withBackend(ser, async (b, keep) => {
        const x = fresh(rows * cols, 3);
        const y = keep(ser.kernels.softmax(b, keep(b.upload(x)), rows, cols));
        assertClose(await b.download(y), ser.reference.softmax(x, rows, cols), FORWARD, 'y');
      }),
  })),
  ...softmaxSizes.map(([rows, cols]) => ({
    family: 'softmax',
    name: `softmaxBackward y[${rows},${cols}]`,
    run: (ser: Ser) =>
      withBackend(ser, async (b, keep) => {
        const y = f32(ser.reference.softmax(fresh(rows * cols, 3), rows, cols));
        const dy = fresh(rows * cols);
        const dx = keep(ser.kernels.softmaxBackward(b, keep(b.upload(y)), keep(b.upload(dy)), rows, cols));
        assertClose(await b.download(dx), ser.reference.softmaxBackward(y, dy, rows, cols), GRADIENT, 'dx');
      }),
  })),
  ...withAndWithoutWeights('softmaxCrossEntropy logits', async (ser, b, keep, rows, cols, weighted) => {
    const logits = fresh(rows * cols, 3);
    const targets = randomTargets(rows, cols);
    const weights = weighted ? randomWeights(cols) : null;
    const ref = ser.reference.softmaxCrossEntropy(logits, targets, rows, cols, weights);
    const out = ser.kernels.softmaxCrossEntropy(b, keep(b.upload(logits)), keep(b.uploadIndices(targets)), rows, cols, weights && keep(b.upload(weights)));
    keep(out.loss);
    keep(out.probs);
    assertClose(await b.download(out.loss), ref.loss, FORWARD, 'loss');
    assertClose(await b.download(out.probs), ref.probs, FORWARD, 'probs');
  }),
  ...withAndWithoutWeights('softmaxCrossEntropyBackward probs', async (ser, b, keep, rows, cols, weighted) => {
    const probs = f32(ser.reference.softmax(fresh(rows * cols, 3), rows, cols));
    const targets = randomTargets(rows, cols);
    const weights = weighted ? randomWeights(cols) : null;
    const dloss = fresh(1, 1, 0.5);
    const ref = ser.reference.softmaxCrossEntropyBackward(probs, targets, dloss, rows, cols, weights);
    const [ps, ds] = [probs, dloss].map((a) => keep(b.upload(a)));
    const dlogits = keep(ser.kernels.softmaxCrossEntropyBackward(b, ps, keep(b.uploadIndices(targets)), ds, rows, cols, weights && keep(b.upload(weights))));
    assertClose(await b.download(dlogits), ref, GRADIENT, 'dlogits');
  }),
  ...[
    [5, 259],
    [33, 5],
  ].map(([rows, cols]) => ({
    family: 'softmax',
    name: `softmax and cross-entropy of logits ±80 stay finite [${rows},${cols}]`,
    run: (ser: Ser) =>
      withBackend(ser, async (b, keep) => {
        const logits = fresh(rows * cols).map((v) => (v > 0 ? 80 : -80) + v);
        const targets = randomTargets(rows, cols);
        const y = await b.download(keep(ser.kernels.softmax(b, keep(b.upload(logits)), rows, cols)));
        assert(y.every(Number.isFinite), 'softmax of ±80 logits is not finite');
        assertClose(y, ser.reference.softmax(logits, rows, cols), FORWARD, 'y');
        const out = ser.kernels.softmaxCrossEntropy(b, keep(b.upload(logits)), keep(b.uploadIndices(targets)), rows, cols, null);
        keep(out.loss);
        keep(out.probs);
        const loss = await b.download(out.loss);
        assert(Number.isFinite(loss[0]), `cross-entropy of ±80 logits is ${loss[0]}`);
        assertClose(loss, ser.reference.softmaxCrossEntropy(logits, targets, rows, cols, null).loss, FORWARD, 'loss');
      }),
  })),
  ...[false, true].map((weighted) => ({
    family: 'softmax',
    name: `softmaxCrossEntropy of confident rows keeps its digits (loss ≈ 1e-4)${weighted ? ' with class weights' : ''}`,
    run: (ser: Ser) =>
      withBackend(ser, async (b, keep) => {
        const [rows, cols] = [7, 5];
        const targets = randomTargets(rows, cols);
        // The target leads by ~10, so p[t] ≈ 1 − 2e-4: log(p[t]) computed naively would keep ~3 digits.
        const logits = fresh(rows * cols, 0.3).map((v, i) => v + (i % cols === targets[Math.floor(i / cols)] ? 10 : 0));
        const weights = weighted ? randomWeights(cols) : null;
        const ref = ser.reference.softmaxCrossEntropy(logits, targets, rows, cols, weights);
        assert(ref.loss[0] < 1e-3, `the test meant a small loss, got ${ref.loss[0]}`);
        const out = ser.kernels.softmaxCrossEntropy(b, keep(b.upload(logits)), keep(b.uploadIndices(targets)), rows, cols, weights && keep(b.upload(weights)));
        keep(out.loss);
        keep(out.probs);
        assertClose(await b.download(out.loss), ref.loss, FORWARD, 'loss');
      }),
  })),
  // Sums over 2^21 rows or 2^16..2^21 columns, of terms alike (where a running float32 sum loses the most), against
  // the float64 reference. LONG_SUM lies between what running sums lost and what the tree and pairwise sums keep.
  ...[false, true].map((weighted) => ({
    family: 'softmax',
    name: `softmaxCrossEntropy over 2^21 rows of alike logits, forward and backward${weighted ? ' with class weights' : ''}`,
    run: (ser: Ser) =>
      withBackend(ser, async (b, keep) => {
        const [rows, cols] = [2 ** 21, 3];
        // An untrained head: every row's logits the same, so the rows' losses take one value per class.
        const row = fresh(cols);
        const logits = Float32Array.from({ length: rows * cols }, (_, i) => row[i % cols]);
        const targets = randomTargets(rows, cols);
        const weights = weighted ? randomWeights(cols) : null;
        const ref = ser.reference.softmaxCrossEntropy(logits, targets, rows, cols, weights);
        const ts = keep(b.uploadIndices(targets));
        const ws = weights && keep(b.upload(weights));
        const out = ser.kernels.softmaxCrossEntropy(b, keep(b.upload(logits)), ts, rows, cols, ws);
        keep(out.loss);
        keep(out.probs);
        assertClose(await b.download(out.loss), ref.loss, LONG_SUM, 'loss');
        const dloss = Float32Array.of(1);
        const dlogits = keep(ser.kernels.softmaxCrossEntropyBackward(b, out.probs, ts, keep(b.upload(dloss)), rows, cols, ws));
        const probs = await b.download(out.probs);
        assertClose(await b.download(dlogits), ser.reference.softmaxCrossEntropyBackward(probs, targets, dloss, rows, cols, weights), LONG_SUM, 'dlogits');
      }),
  })),
  ...[
    [65, 2 ** 16], // a thread per row
    [1, 2 ** 21], // a workgroup per row, 2^15 columns a thread
  ].map(([rows, cols]) => ({
    family: 'softmax',
    name: `softmax, softmaxBackward and softmaxCrossEntropy of long rows of alike values x[${rows},${cols}]`,
    run: (ser: Ser) =>
      withBackend(ser, async (b, keep) => {
        // A peak over a flat row: every other exp(x − max) is the same.
        const x = Float32Array.from({ length: rows * cols }, (_, i) => (i % cols === 0 ? 1 : 0));
        const xs = keep(b.upload(x));
        const y = keep(ser.kernels.softmax(b, xs, rows, cols));
        const ref = ser.reference.softmax(x, rows, cols);
        assertClose(await b.download(y), ref, LONG_SUM, 'y');
        const targets = randomTargets(rows, cols);
        const out = ser.kernels.softmaxCrossEntropy(b, xs, keep(b.uploadIndices(targets)), rows, cols, null);
        keep(out.loss);
        keep(out.probs);
        assertClose(await b.download(out.loss), ser.reference.softmaxCrossEntropy(x, targets, rows, cols, null).loss, LONG_SUM, 'loss');
        assertClose(await b.download(out.probs), ref, LONG_SUM, 'probs');
        // dy near 1, so dy − Σ dy·y is small: Σ dy·y's rounding shows in dx.
        const y32 = f32(ref);
        const dy = fresh(rows * cols, 0.1, 1);
        const dx = keep(ser.kernels.softmaxBackward(b, keep(b.upload(y32)), keep(b.upload(dy)), rows, cols));
        assertClose(await b.download(dx), ser.reference.softmaxBackward(y32, dy, rows, cols), LONG_SUM, 'dx');
      }),
  })),
  ...[
    [1, 3],
    [4, 5],
  ].map(([rows, cols]) => ({
    family: 'softmax',
    name: `softmaxBackward reference vs finite differences [${rows},${cols}]`,
    run: async (ser: Ser) => {
      const x = fresh(rows * cols, 2);
      const r = fresh(rows * cols);
      const y = ser.reference.softmax(x, rows, cols);
      const numeric = numericGradient((xv) => dot(r, ser.reference.softmax(xv, rows, cols)), x);
      assertClose(ser.reference.softmaxBackward(y, r, rows, cols), numeric, FD, 'dx');
    },
  })),
  ...[
    [1, 3],
    [4, 5],
    [6, 3],
  ].flatMap(([rows, cols]) =>
    [false, true].map((weighted) => ({
      family: 'softmax',
      name: `softmaxCrossEntropyBackward reference vs finite differences [${rows},${cols}]${weighted ? ' with class weights' : ''}`,
      run: async (ser: Ser) => {
        const ref = ser.reference;
        const logits = fresh(rows * cols, 2);
        const targets = randomTargets(rows, cols);
        const weights = weighted ? randomWeights(cols) : null;
        const dloss = fresh(1, 1, 0.5);
        const probs = ref.softmaxCrossEntropy(logits, targets, rows, cols, weights).probs;
        const numeric = numericGradient((xv) => dloss[0] * ref.softmaxCrossEntropy(xv, targets, rows, cols, weights).loss[0], logits);
        assertClose(ref.softmaxCrossEntropyBackward(probs, targets, dloss, rows, cols, weights), numeric, FD, 'dlogits');
      },
    })),
  ),
];

export const trainingCases: SuiteCase[] = [...normalizationCases, ...softmaxCases].map(seededByName);

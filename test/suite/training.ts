// The training kernels (families normalization, softmax, optim) against the CPU reference, and the reference's
// backward passes against central finite differences in float64. Sizes are odd on purpose (nothing a multiple of a
// workgroup or a tile), from a single row to enough work for several workgroups per reduction.

import type { AdamOptions, Backend, Storage } from '../../src/kernels/index.js';
import { assert, assertClose, dot, numericGradient, randn, type Ser, type SuiteCase } from './harness.js';

const FORWARD = 1e-5;
const GRADIENT = 1e-4;
/** The references' backward passes against finite differences (float64 throughout, so far tighter than GRADIENT). */
const FD = 1e-6;

/** Where fresh() draws next: set at the start of each case from the case's name (seededByName), so a case run
 * alone gets the same data as in the whole suite. Cases run one at a time. */
let seed = 0;
/** Fresh standard-normal data for every call. */
const fresh = (n: number, scale = 1, offset = 0) => randn(n, seed++).map((v) => v * scale + offset);

/** The case, drawing its data from a seed made of its own name (FNV-1a), whatever ran before it. */
function seededByName(c: SuiteCase): SuiteCase {
  let hash = 0x811c9dc5;
  for (const ch of c.name) hash = Math.imul(hash ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return { ...c, run: (ser) => ((seed = hash), c.run(ser)) };
}

/** Class indices in [0, cols), one per row. */
function randomTargets(rows: number, cols: number): Int32Array {
  return Int32Array.from(fresh(rows), (v) => Math.floor(Math.abs(v) * 7919) % cols);
}

/** Positive class weights, all different. */
const randomWeights = (cols: number) => fresh(cols).map((v) => 0.25 + Math.abs(v));

/** Uploads inputs, runs `body` and releases what it made. */
async function withBackend<T>(ser: Ser, body: (b: Backend, keep: (s: Storage) => Storage) => Promise<T>): Promise<T> {
  const b = ser.engine().backend;
  const made: Storage[] = [];
  try {
    return await body(b, (s) => (made.push(s), s));
  } finally {
    for (const s of made) b.release(s);
  }
}

const f32 = (a: ArrayLike<number>) => Float32Array.from(a);

// ---------------------------------------------------------------------------------------------------------------
// normalization: x [N, C, L]

// Channels of up to 1024 values are reduced by a thread each, longer ones by workgroups over chunks; rows (L) of
// 256 or more are covered a row at a time by the elementwise passes, shorter ones by a flat walk.
const bnShapes: number[][] = [
  [1, 3, 33], // batch 1, short rows
  [3, 5, 301], // long rows, eight items per thread
  [7, 17, 1], // [N, C] given as [N, C, 1]
  [2049, 3, 1], // [N, C] with workgroup reductions
  [97, 5, 13], // short rows with workgroup reductions (the chunk walk wraps rows)
  [5, 3, 1201], // a few chunks per channel
  [16, 17, 1201],
  [16, 3, 12001], // many chunks per channel
  [2, 65537, 1], // more channels than one grid dimension holds
];
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

const normalizationCases: SuiteCase[] = [
  ...bnShapes.map((shape) => ({
    family: 'normalization',
    name: `batchNormStats x[${shape}]`,
    run: (ser: Ser) =>
      withBackend(ser, async (b, keep) => {
        const x = channelData(shape);
        const ref = ser.reference.batchNormStats(x, shape);
        const s = ser.kernels.batchNormStats(b, keep(b.upload(x)), shape);
        keep(s.mean);
        keep(s.variance);
        assertClose(await b.download(s.mean), ref.mean, FORWARD, 'mean');
        assertClose(await b.download(s.variance), ref.variance, FORWARD, 'variance');
      }),
  })),
  {
    family: 'normalization',
    name: 'batchNormStats stays accurate for a mean 200 standard deviations from zero',
    run: (ser) =>
      withBackend(ser, async (b, keep) => {
        const shape = [16, 3, 12001];
        const x = fresh(16 * 3 * 12001, 1, 200);
        const ref = ser.reference.batchNormStats(x, shape);
        const s = ser.kernels.batchNormStats(b, keep(b.upload(x)), shape);
        keep(s.mean);
        keep(s.variance);
        assertClose(await b.download(s.mean), ref.mean, FORWARD, 'mean');
        // One-pass sums of squares would lose every digit here (x² ≈ 4e4 against a variance of 1).
        assertClose(await b.download(s.variance), ref.variance, 1e-4, 'variance');
      }),
  },
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
          const g = ser.kernels.batchNormBackward(b, xs, dys, shape, ms, vs, gs, EPS, relu ? ys : undefined);
          [g.dx, g.dgamma, g.dbeta].forEach(keep);
          const what = relu ? ' (fused relu)' : '';
          assertClose(await b.download(g.dx), ref.dx, GRADIENT, `dx${what}`);
          assertClose(await b.download(g.dgamma), ref.dgamma, GRADIENT, `dgamma${what}`);
          assertClose(await b.download(g.dbeta), ref.dbeta, GRADIENT, `dbeta${what}`);
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
// Many rows (a thread each), and a few very long rows (a workgroup each).
softmaxSizes.push([1537, 259], [3, 4099], [33, 1031]);

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

// ---------------------------------------------------------------------------------------------------------------
// optim

const optimCases: SuiteCase[] = [
  ...[
    [100_003, 0.3, 12345],
    [100_000, 0.5, 7],
    [1_000_001, 0.1, 0xdeadbeef],
    [4099, 0, 3],
  ].map(([length, p, maskSeed]) => ({
    family: 'optim',
    name: `dropoutMask length ${length}, p ${p}: identical to the CPU, keeps ≈ 1 − p`,
    run: (ser: Ser) =>
      withBackend(ser, async (b, keep) => {
        const gpu = await b.download(keep(ser.kernels.dropoutMask(b, length, p, maskSeed)));
        const cpu = f32(ser.reference.dropoutMask(length, p, maskSeed));
        const scale = Math.fround(1 / (1 - p));
        let kept = 0;
        for (let i = 0; i < length; i++) {
          if (gpu[i] !== cpu[i]) throw new Error(`mask[${i}] is ${gpu[i]} on the GPU but ${cpu[i]} on the CPU`);
          assert(gpu[i] === 0 || gpu[i] === scale, `mask[${i}] = ${gpu[i]} is neither 0 nor 1/(1 − p)`);
          if (gpu[i] !== 0) kept++;
        }
        // The kept fraction's standard deviation is sqrt(p(1 − p)/length) ≤ 0.0016 here: 0.01 is over 6 of them.
        const fraction = kept / length;
        assert(Math.abs(fraction - (1 - p)) < 0.01, `kept ${fraction.toFixed(4)} of the elements, expected ≈ ${1 - p}`);
      }),
  })),
  {
    family: 'optim',
    name: 'dropoutMask: another seed gives another mask, the same seed the same',
    run: (ser) =>
      withBackend(ser, async (b, keep) => {
        const a = await b.download(keep(ser.kernels.dropoutMask(b, 10_007, 0.5, 1)));
        const again = await b.download(keep(ser.kernels.dropoutMask(b, 10_007, 0.5, 1)));
        const other = await b.download(keep(ser.kernels.dropoutMask(b, 10_007, 0.5, 2)));
        let same = 0;
        for (let i = 0; i < a.length; i++) {
          assert(a[i] === again[i], `seed 1 gave two different masks (element ${i})`);
          if (a[i] === other[i]) same++;
        }
        assert(Math.abs(same / a.length - 0.5) < 0.05, `masks of seeds 1 and 2 agree on ${same} of ${a.length} elements`);
      }),
  },
  ...[1, 7, 10_007, 300_001].map((n) => ({
    family: 'optim',
    name: `adamStep: 3 consecutive steps of ${n} parameters`,
    run: (ser: Ser) =>
      withBackend(ser, async (b, keep) => {
        let param: ArrayLike<number> = fresh(n);
        let m: ArrayLike<number> = fresh(n, 0.1);
        let v: ArrayLike<number> = fresh(n, 0.1).map(Math.abs);
        const [ps, ms, vs] = [param, m, v].map((a) => keep(b.upload(f32(a))));
        for (let step = 1; step <= 3; step++) {
          const o: AdamOptions = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05, step };
          const grad = fresh(n);
          ser.kernels.adamStep(b, ps, keep(b.upload(grad)), ms, vs, o);
          const ref = ser.reference.adamStep(param, grad, m, v, o);
          const gpuParam = await b.download(ps);
          // The parameters barely move in a step, so also measure the error against the step's scale, lr per element.
          let squares = 0;
          for (let i = 0; i < n; i++) squares += (gpuParam[i] - ref.param[i]) ** 2;
          const stepError = Math.sqrt(squares / n) / o.lr;
          assert(stepError < GRADIENT, `step ${step}: the parameters are off by ${stepError.toExponential(2)} of a learning rate`);
          assertClose(gpuParam, ref.param, FORWARD, `step ${step} param`);
          assertClose(await b.download(ms), ref.m, FORWARD, `step ${step} m`);
          assertClose(await b.download(vs), ref.v, FORWARD, `step ${step} v`);
          // Carry on from the GPU's float32 state, as training does.
          [param, m, v] = [gpuParam, await b.download(ms), await b.download(vs)];
        }
      }),
  })),
  {
    family: 'optim',
    name: 'Adam: one dispatch updates every parameter (odd sizes), a step without one gradient two, as the reference per parameter',
    async run(ser) {
      const sizes = [3, 1, 257, 4099, 17];
      const o = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05 };
      type State = { param: ArrayLike<number>; m: ArrayLike<number>; v: ArrayLike<number> };
      let state: State[] = sizes.map((n) => ({ param: fresh(n), m: new Float64Array(n), v: new Float64Array(n) }));
      const params = state.map((s) => ser.tensor(f32(s.param), [s.param.length], { requiresGrad: true }));
      const adam = new ser.Adam(params, o);
      const runtime = ser.engine().runtime;
      try {
        for (let step = 1; step <= 3; step++) {
          // Parameter 3 gets no gradient in step 2: it must not move (torch skips it), and the rest runs in two ranges.
          const skipped = step === 2 ? 3 : -1;
          const grads = sizes.map((n, i) => (i === skipped ? null : fresh(n)));
          params.forEach((p, i) => (p.grad = grads[i] ? ser.tensor(f32(grads[i]!), [sizes[i]]) : null));
          const before = runtime?.counts.dispatches ?? 0;
          adam.step();
          if (runtime) assert(runtime.counts.dispatches - before === (skipped < 0 ? 1 : 2), `step ${step}: ${runtime.counts.dispatches - before} dispatches`);
          const next: State[] = [];
          for (let i = 0; i < sizes.length; i++) {
            const got = await params[i].toArray();
            const want = grads[i] ? ser.reference.adamStep(state[i].param, grads[i]!, state[i].m, state[i].v, { ...o, step }) : state[i];
            assertClose(got, want.param, FORWARD, `step ${step} parameter ${i}`);
            next.push({ param: got, m: want.m, v: want.v });
          }
          // The moments of a 3-element parameter are off by ~1e-5 in float32 alone ((1 − β2)·g² rounds twice).
          const moments = await adam.state();
          moments.m.forEach((m, i) => assertClose(m, next[i].m, GRADIENT, `step ${step} m of parameter ${i}`));
          moments.v.forEach((v, i) => assertClose(v, next[i].v, GRADIENT, `step ${step} v of parameter ${i}`));
          state = next;
          adam.zeroGrad();
        }
      } finally {
        adam.dispose();
        params.forEach((p) => p.dispose());
      }
    },
  },
];

export const trainingCases: SuiteCase[] = [...normalizationCases, ...softmaxCases, ...optimCases].map(seededByName);

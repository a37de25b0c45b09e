// The public API end to end (tensor, ops, backward, grad, toArray), as external conformance tests call it:
// each op's forward and gradients against the CPU reference, argument checks that refuse bad shapes before
// anything is dispatched, and a small network that learns. Runs in Node and in the browser page.

import { assert, assertClose, assertSameWithNaN, assertThrows, dot, numericGradient, randn, type Ser, type SuiteCase } from './harness.js';

const family = 'api';

/** A random tensor that requires grad, plus its values. */
function input(ser: Ser, shape: number[], seed: number) {
  const data = randn(shape.reduce((a, b) => a * b, 1), seed);
  return { data, t: ser.tensor(data, shape, { requiresGrad: true }) };
}

/** Σ relu(x)² over a random x [3,4], its intermediate relu(x) named `hidden`: a graph to misuse. */
function hiddenGraph(ser: Ser, seed: number) {
  const x = input(ser, [3, 4], seed);
  const hidden = ser.relu(x.t);
  hidden.name = 'hidden';
  return { x, hidden, loss: ser.sum(ser.square(hidden)) };
}

export const apiCases: SuiteCase[] = [
  {
    family,
    name: 'conv1d forward and backward (stride 3, padding 2, dilation 2, bias) match the reference',
    async run(ser) {
      const p = { stride: 3, padding: 2, dilation: 2 };
      const x = input(ser, [2, 3, 37], 1);
      const w = input(ser, [5, 3, 4], 2);
      const b = input(ser, [5], 3);
      const y = ser.conv1d(x.t, w.t, b.t, p);
      const ref = ser.reference.conv1d(x.data, x.t.shape, w.data, w.t.shape, b.data, p);
      assert(y.shape.join() === [2, 5, 12].join(), `conv1d output shape ${y.shape}`);
      assertClose(await y.toArray(), ref, 1e-5, 'conv1d forward');
      const dy = randn(y.size, 4);
      await y.backward(ser.tensor(dy, y.shape));
      assertClose(await x.t.grad!.toArray(), ser.reference.conv1dBackwardInput(dy, w.data, x.t.shape, w.t.shape, p), 1e-4, 'conv1d dx');
      assertClose(await w.t.grad!.toArray(), ser.reference.conv1dBackwardWeight(dy, x.data, x.t.shape, w.t.shape, p), 1e-4, 'conv1d dw');
      assertClose(await b.t.grad!.toArray(), ser.reference.sumTo(dy, [2, 5, 12], [1, 5, 1]), 1e-4, 'conv1d db');
    },
  },
  {
    family,
    name: "spanMask (SpecAugment) in training: x times the kernel's mask, its gradient as finite differences give it; in eval mode x itself",
    async run(ser) {
      const x = input(ser, [3, 6, 23], 41);
      const o = { masks: 2, maxBands: 3, maxFrames: 9 };
      const y = ser.spanMask(x.t, o, true, 77);
      const mask = ser.reference.spanMask(3, 6, 23, o, 77);
      assertClose(await y.toArray(), Float64Array.from(x.data, (v, i) => v * mask[i]), 1e-6, 'spanMask forward');
      const w = randn(y.size, 42);
      await ser.sum(ser.mul(y, ser.tensor(w, y.shape))).backward();
      const loss = (v: Float64Array) => dot(w, Float64Array.from(v, (xi, i) => xi * mask[i]));
      assertClose(await x.t.grad!.toArray(), numericGradient(loss, x.data), 1e-4, 'spanMask dx');
      assert(ser.spanMask(x.t, o, false, 77) === x.t, 'in eval mode, spanMask must return x itself');
      await assertThrows(() => ser.spanMask(ser.tensor(new Float32Array(6), [2, 3]), o, true, 1), /spanMask: x \(N, C, L\)/, 'a rank-2 input');
    },
  },
  {
    family,
    name: 'maxPool1d / avgPool1d forward and backward match the reference (torch defaults: stride = kernel)',
    async run(ser) {
      const x = input(ser, [1, 3, 29], 5);
      const p = { kernelSize: 3, stride: 3, padding: 0 };
      const ym = ser.maxPool1d(x.t, { kernelSize: 3 });
      assertClose(await ym.toArray(), ser.reference.maxPool1d(x.data, x.t.shape, p), 1e-6, 'maxPool1d');
      const dy = randn(ym.size, 6);
      await ym.backward(ser.tensor(dy, ym.shape));
      assertClose(await x.t.grad!.toArray(), ser.reference.maxPool1dBackward(x.data, dy, x.t.shape, p), 1e-5, 'maxPool1d dx');
      const x2 = input(ser, [2, 2, 17], 7);
      const pa = { kernelSize: 4, stride: 2, padding: 1 };
      const ya = ser.avgPool1d(x2.t, pa);
      assertClose(await ya.toArray(), ser.reference.avgPool1d(x2.data, x2.t.shape, pa), 1e-5, 'avgPool1d');
      const dya = randn(ya.size, 8);
      await ya.backward(ser.tensor(dya, ya.shape));
      assertClose(await x2.t.grad!.toArray(), ser.reference.avgPool1dBackward(dya, x2.t.shape, pa), 1e-5, 'avgPool1d dx');
    },
  },
  {
    family,
    name: 'matmul, linear, relu, mean and crossEntropy compose, and gradients accumulate over two backward calls',
    async run(ser) {
      const x = input(ser, [7, 5], 9);
      const w = input(ser, [3, 5], 10);
      const b = input(ser, [3], 11);
      const m = input(ser, [5, 4], 12);
      const targets = new Int32Array([0, 2, 1, 1, 0, 2, 2]);
      const forward = () => ser.crossEntropy(ser.relu(ser.linear(x.t, w.t, b.t)), targets);
      const loss = forward();
      // Reference: logits = relu(x·wᵀ + b), mean cross-entropy.
      const z = ser.reference.gemm(x.data, w.data, { M: 7, N: 3, K: 5, transB: true, bias: b.data });
      const logits = Float64Array.from(z, (v) => Math.max(0, v));
      const ref = ser.reference.softmaxCrossEntropy(logits, targets, 7, 3, null);
      assertClose(await loss.toArray(), ref.loss, 1e-5, 'crossEntropy value');
      await loss.backward();
      const dLogits = ser.reference.softmaxCrossEntropyBackward(ref.probs, targets, [1], 7, 3, null);
      const dz = Float64Array.from(dLogits, (g, i) => (z[i] > 0 ? g : 0));
      const dw = ser.reference.gemm(dz, x.data, { M: 3, N: 5, K: 7, transA: true });
      assertClose(await w.t.grad!.toArray(), dw, 1e-4, 'linear dw');
      await forward().backward();
      assertClose(await w.t.grad!.toArray(), Float64Array.from(dw, (v) => 2 * v), 1e-4, 'accumulated dw');
      const y = ser.mean(ser.matmul(x.t, m.t), 1);
      assert(y.shape.join() === '7', `mean(x, 1) shape ${y.shape}`);
      const mm = ser.reference.gemm(x.data, m.data, { M: 7, N: 4, K: 5 });
      const meanRef = Array.from({ length: 7 }, (_, i) => (mm[i * 4] + mm[i * 4 + 1] + mm[i * 4 + 2] + mm[i * 4 + 3]) / 4);
      assertClose(await y.toArray(), meanRef, 1e-5, 'mean over dim 1');
      await y.backward(ser.tensor(new Float32Array(7).fill(1), [7]));
      const dm = ser.reference.gemm(x.data, new Float64Array(28).fill(0.25), { M: 5, N: 4, K: 7, transA: true });
      assertClose(await m.t.grad!.toArray(), dm, 1e-4, 'matmul db through mean');
    },
  },
  {
    family,
    name: 'batchNorm1d with the fused relu gives relu(batchNorm1d(x)) and its gradients, in training and eval',
    async run(ser) {
      const shape = [3, 4, 13];
      const x = input(ser, shape, 21);
      const gamma = input(ser, [4], 22);
      const beta = input(ser, [4], 23);
      const dy = randn(3 * 4 * 13, 24);
      const run = async (fused: boolean, training: boolean) => {
        for (const t of [x.t, gamma.t, beta.t]) t.grad = null;
        const state = { runningMean: ser.tensor(new Float32Array(4), [4]), runningVar: ser.tensor(new Float32Array(4).fill(1), [4]) };
        const y = fused ? ser.batchNorm1d(x.t, gamma.t, beta.t, state, training, 0.1, 1e-5, 'relu') : ser.relu(ser.batchNorm1d(x.t, gamma.t, beta.t, state, training));
        const out = await y.toArray();
        await y.backward(ser.tensor(dy, shape));
        return { out, grads: await Promise.all([x.t, gamma.t, beta.t].map((t) => t.grad!.toArray())) };
      };
      for (const training of [true, false]) {
        const fused = await run(true, training);
        const plain = await run(false, training);
        assert(fused.out.some((v) => v === 0) && fused.out.some((v) => v > 0), 'relu cuts some values and keeps others');
        assertClose(fused.out, plain.out, 1e-6, `fused relu forward (${training ? 'training' : 'eval'})`);
        fused.grads.forEach((g, i) => assertClose(g, plain.grads[i], 1e-5, `fused relu gradient of ${['x', 'gamma', 'beta'][i]} (${training ? 'training' : 'eval'})`));
      }
    },
  },
  ...[
    { shape: [3, 5, 7], relu: false, seed: 51 },
    { shape: [3, 5, 7], relu: true, seed: 52 },
    { shape: [5, 3], relu: true, seed: 53 },
  ].map(({ shape, relu, seed }) => ({
    family,
    name: `batchNorm1d in eval mode differentiates with the running statistics as constants, vs finite differences (x[${shape}]${relu ? ', fused relu' : ''})`,
    async run(ser: Ser) {
      const eps = 1e-5;
      const C = shape[1];
      const refShape = [shape[0], C, shape[2] ?? 1];
      const x = input(ser, shape, seed);
      const gamma = input(ser, [C], seed + 100);
      const beta = input(ser, [C], seed + 200);
      const runningMean = randn(C, seed + 300);
      const runningVar = Float32Array.from(randn(C, seed + 400), (v) => 0.2 + v * v);
      const state = { runningMean: ser.tensor(runningMean, [C]), runningVar: ser.tensor(runningVar, [C]) };
      const r = randn(x.data.length, seed + 500);
      const loss = (xv: ArrayLike<number>, g: ArrayLike<number>, b: ArrayLike<number>) =>
        dot(r, ser.reference.batchNormApply(xv, refShape, runningMean, runningVar, g, b, eps, relu));
      if (relu) {
        // Finite differences straddling the relu's kink would average its two sides.
        const pre = ser.reference.batchNormApply(x.data, refShape, runningMean, runningVar, gamma.data, beta.data, eps);
        assert(pre.some((v) => v < 0) && pre.some((v) => v > 0) && pre.every((v) => Math.abs(v) > 1e-4), 'the relu cuts some values, none near its kink');
      }
      const y = ser.batchNorm1d(x.t, gamma.t, beta.t, state, false, 0.1, eps, relu ? 'relu' : undefined);
      // A training forward of the same statistics before the backward updates them in place: the gradient
      // must still be that of the values the eval forward used.
      ser.noGrad(() => ser.batchNorm1d(ser.tensor(randn(x.data.length, seed + 600), shape), gamma.t, beta.t, state, true).dispose());
      await y.backward(ser.tensor(r, shape));
      assertClose(await x.t.grad!.toArray(), numericGradient((v) => loss(v, gamma.data, beta.data), x.data), 1e-4, 'eval dx');
      assertClose(await gamma.t.grad!.toArray(), numericGradient((v) => loss(x.data, v, beta.data), gamma.data), 1e-4, 'eval dgamma');
      assertClose(await beta.t.grad!.toArray(), numericGradient((v) => loss(x.data, gamma.data, v), beta.data), 1e-4, 'eval dbeta');
      // Frozen affine parameters (saliency): the input still gets its gradient, the parameters none.
      const frozen = { gamma: ser.tensor(gamma.data, [C]), beta: ser.tensor(beta.data, [C]) };
      const x2 = input(ser, shape, seed);
      const state2 = { runningMean: ser.tensor(runningMean, [C]), runningVar: ser.tensor(runningVar, [C]) };
      await ser.sum(ser.batchNorm1d(x2.t, frozen.gamma, frozen.beta, state2, false, 0.1, eps, relu ? 'relu' : undefined)).backward();
      assertClose(await x2.t.grad!.toArray(), numericGradient((v) => dot(new Float32Array(v.length).fill(1), ser.reference.batchNormApply(v, refShape, runningMean, runningVar, gamma.data, beta.data, eps, relu)), x.data), 1e-4, 'eval dx, parameters frozen');
      assert(frozen.gamma.grad === null && frozen.beta.grad === null, 'frozen parameters got a gradient');
      // No gradient wanted: the output is a constant, and the running statistics are unchanged.
      const constant = ser.noGrad(() => ser.batchNorm1d(x.t, gamma.t, beta.t, state2, false, 0.1, eps));
      assert(!constant.requiresGrad, 'eval batch norm under noGrad recorded a backward');
      assertClose(await state2.runningMean.toArray(), runningMean, 0, 'eval mode changed the running mean');
      assertClose(await state2.runningVar.toArray(), runningVar, 0, 'eval mode changed the running variance');
    },
  })),
  {
    family,
    name: 'bad shapes and parameters are refused with errors naming them, before any work is queued',
    async run(ser) {
      const x = ser.tensor(new Float32Array(2 * 3 * 10), [2, 3, 10], { name: 'x' });
      const w = ser.tensor(new Float32Array(4 * 2 * 3), [4, 2, 3], { name: 'w' });
      const long = ser.tensor(new Float32Array(4 * 3 * 30), [4, 3, 30]);
      const w3 = ser.tensor(new Float32Array(4 * 3 * 3), [4, 3, 3]);
      const a = ser.tensor(new Float32Array(6), [2, 3], { name: 'a' });
      const W = ser.tensor(new Float32Array(8), [2, 4], { name: 'W' });
      const v4 = ser.tensor(new Float32Array(4), [4]);
      // Finalizers of forgotten tensors may lower the count meanwhile, never raise it: hence <=.
      const live = ser.engine().backend.counters().liveBuffers;
      await assertThrows(() => ser.conv1d(x, w, undefined), /x\[2,3,10\].*3 channels.*w\[4,2,3\]/, 'conv1d channel mismatch');
      await assertThrows(() => ser.conv1d(x, long, undefined), /kernel 30.*longer than input x\[2,3,10\]/, 'conv1d kernel too long');
      await assertThrows(() => ser.conv1d(x, w3, undefined, { stride: 0 }), /stride must be a positive integer, got 0/, 'conv1d stride 0');
      await assertThrows(() => ser.conv1d(x, w3, undefined, { dilation: 1.5 }), /dilation must be a positive integer, got 1.5/, 'conv1d dilation');
      await assertThrows(() => ser.maxPool1d(x, { kernelSize: 4, padding: 3 }), /padding 3 must be at most half of kernelSize 4/, 'pool padding');
      await assertThrows(() => ser.avgPool1d(a, { kernelSize: 2 }), /expected 3 dimensions, got a\[2,3\]/, 'pool rank');
      await assertThrows(() => ser.matmul(a, a), /inner dimensions 3 and 2 differ/, 'matmul inner dims');
      await assertThrows(() => ser.linear(a, W), /input a\[2,3\] has 3 features but weight W\[2,4\] expects 4/, 'linear features');
      await assertThrows(() => ser.crossEntropy(a, new Int32Array([0, 3])), /target 1 is 3, outside the 3 classes/, 'crossEntropy target');
      await assertThrows(() => ser.crossEntropy(a, new Int32Array([0])), /1 targets for logits a\[2,3\]/, 'crossEntropy batch');
      await assertThrows(() => ser.mean(a, 2), /dim 2 is out of range/, 'mean dim');
      await assertThrows(() => ser.tensor(new Float32Array(5), [2, 3]), /5 values do not fill shape \[2,3\]/, 'tensor size');
      await assertThrows(() => ser.add(a, v4), /shapes \[2,3\] and \[4\] do not broadcast/, 'broadcast');
      assert(ser.engine().backend.counters().liveBuffers <= live, 'a refused op allocated device memory');
      for (const t of [x, w, long, w3, a, W, v4]) t.dispose();
      assert(ser.engine().backend.counters().liveBuffers <= live - 7, 'disposed inputs still hold buffers');
    },
  },
  {
    family,
    name: "every tensor an op reads is checked: a disposed one, or one from another backend, is named with the op before any work is queued",
    async run(ser) {
      const here = ser.engine().backend.name;
      await ser.init({ backend: here === 'cpu' ? 'webgpu' : 'cpu' });
      const foreign = (shape: number[], name: string) => ser.tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape, { name });
      const other = { b: foreign([4], 'b'), a: foreign([2, 3], 'a2'), gamma: foreign([3], 'gamma'), var: foreign([3], 'var'), weight: foreign([3], 'cw'), g: foreign([2, 3], 'g') };
      await ser.init({ backend: here });
      const named = (shape: number[], name: string, requiresGrad = false) => ser.tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.5), shape, { name, requiresGrad });
      const x = named([2, 3, 10], 'x');
      const w = named([4, 3, 3], 'w');
      const a = named([2, 3], 'a');
      const state = { runningMean: named([3], 'mean'), runningVar: named([3], 'var') };
      const [lw, gamma, beta, transposed, gone] = [named([4, 3], 'lw'), named([3], 'gamma'), named([3], 'beta'), named([3, 2], 'g'), named([4], 'gone')];
      const y = ser.relu(named([2, 3], 'y0', true));
      y.name = 'y';
      gone.dispose();
      // Finalizers of forgotten tensors may lower the count meanwhile, never raise it: hence <=.
      const live = ser.engine().backend.counters().liveBuffers;
      // Only the first two operands were compared: a third from another backend failed deep in a kernel.
      const mixed = (op: string, t: string) => new RegExp(`^${op}: \\w+\\[[\\d,]+\\] is on \\w+ but ${t} is on \\w+$`);
      await assertThrows(() => ser.conv1d(x, w, other.b), mixed('conv1d', 'b\\[4\\]'), 'conv1d bias from another backend');
      await assertThrows(() => ser.linear(a, lw, other.b), mixed('linear', 'b\\[4\\]'), 'linear bias from another backend');
      await assertThrows(() => ser.concat([a, other.a], 0), mixed('concat', 'a2\\[2,3\\]'), 'concat');
      await assertThrows(() => ser.batchNorm1d(a, other.gamma, beta, state, true), mixed('batchNorm1d', 'gamma\\[3\\]'), 'batchNorm1d gamma');
      await assertThrows(() => ser.batchNorm1d(a, gamma, beta, { ...state, runningVar: other.var }, false), mixed('batchNorm1d', 'var\\[3\\]'), 'batchNorm1d running variance');
      await assertThrows(() => ser.crossEntropy(a, [0, 1], { weight: other.weight }), mixed('crossEntropy', 'cw\\[3\\]'), 'crossEntropy weight');
      await assertThrows(() => y.backward(other.g), /^backward\(\): gradient g\[2,3\] is on \w+ but y\[2,3\] is on \w+$/, 'backward with a gradient from another backend');
      // torch refuses a gradient of another shape ("Mismatch in shape"); it was read in the output's order.
      await assertThrows(() => y.backward(transposed), /^backward\(\): gradient g\[3,2\] does not match the shape of y\[2,3\]$/, 'backward with a transposed gradient');
      await assertThrows(() => ser.relu(gone), /^relu: gone\[4\] was disposed and cannot be used$/, 'relu of a disposed tensor');
      await assertThrows(() => ser.conv1d(x, w, gone), /^conv1d: gone\[4\] was disposed/, 'conv1d with a disposed bias');
      await assertThrows(() => ser.sum(gone), /^sum: gone\[4\] was disposed/, 'sum of a disposed tensor');
      await assertThrows(() => y.backward(gone), /^backward\(\): the gradient gone\[4\] was disposed/, 'backward with a disposed gradient');
      assert(ser.engine().backend.counters().liveBuffers <= live, 'a refused op allocated device memory');
      for (const t of Object.values(other)) t.dispose();
    },
  },
  {
    family,
    name: 'tidy and noGrad refuse an async fn before running it (it ran to its first await only); a promise from a plain fn is fine',
    async run(ser) {
      const x = ser.tensor([1, -2, 3], [3], { requiresGrad: true, name: 'x' });
      let ran = false;
      const later = async () => {
        ran = true;
        const y = ser.relu(x);
        await Promise.resolve();
        return ser.mul(y, y);
      };
      // tidy had freed y at the await while fn still used it ("y was disposed"); noGrad had recorded the tape again after it.
      await assertThrows(() => ser.tidy(later), /^tidy: fn is an async function, .*: use tidyAsync$/, 'tidy(async fn)');
      await assertThrows(() => ser.noGrad(later), /^noGrad: fn is an async function, and the tape would be recorded again after its first await/, 'noGrad(async fn)');
      assert(!ran, 'a refused fn ran');
      const read = await ser.tidy(() => ser.relu(x).toArray());
      assert(read.join() === '1,0,3', `tidy(() => relu(x).toArray()) gave ${read.join()}`);
      assert(!ser.noGrad(() => ser.relu(x)).requiresGrad, 'noGrad recorded the tape');
      assert((await ser.tidyAsync(later)).requiresGrad, 'tidyAsync(async fn)');
      x.dispose();
    },
  },
  {
    family,
    name: 'backward through a tensor disposed too early is refused, not silently cut',
    async run(ser) {
      const { x, hidden, loss } = hiddenGraph(ser, 31);
      hidden.dispose();
      await assertThrows(() => loss.backward(), /hidden\[3,4\] was disposed/, 'disposed intermediate');
      assert(x.t.grad === null, 'a gradient reached x through the disposed branch');
    },
  },
  {
    family,
    name: 'silent wrong results are refused: reshape to negative sizes, huge tensors, fractional targets',
    async run(ser) {
      const x = ser.tensor(new Float32Array(4), [2, 2], { name: 'x' });
      await assertThrows(() => ser.reshape(x, [-2, -2]), /reshape: cannot view x\[2,2\] as \[-2,-2\]: sizes must be a non-empty list of positive integers, with at most one -1/, 'reshape [-2,-2]');
      await assertThrows(() => ser.reshape(x, [-1, -1]), /at most one -1/, 'reshape [-1,-1]');
      await assertThrows(() => ser.reshape(x, [4, 0]), /sizes must be a non-empty list of positive integers/, 'reshape [4,0]');
      await assertThrows(() => ser.reshape(x, [2.5, 1.6]), /sizes must be a non-empty list of positive integers/, 'reshape fractional');
      // A [] view of one value: softmax of it asked the device for a buffer of NaN bytes, and the CPU gave [].
      const one = ser.tensor([3], [1], { name: 'one' });
      await assertThrows(() => ser.reshape(one, []), /^reshape: cannot view one\[1\] as \[\]: sizes must be a non-empty list/, 'reshape to []');
      one.dispose();
      assert(ser.reshape(x, [-1]).shape.join() === '4' && ser.reshape(x, [1, -1, 2]).shape.join() === '1,2,2', 'reshape with one -1 still infers');
      const live = ser.engine().backend.counters().liveBuffers;
      await assertThrows(() => ser.zeros([2 ** 32]), /zeros: shape \[4294967296\] has 4294967296 elements, more than the limit of 268435456/, 'zeros([2**32])');
      await assertThrows(() => ser.ones([2 ** 16, 2 ** 16]), /ones: shape \[65536,65536\] has 4294967296 elements/, 'ones([2**16, 2**16])');
      assert(ser.MAX_TENSOR_ELEMENTS === 2 ** 28, `MAX_TENSOR_ELEMENTS is ${ser.MAX_TENSOR_ELEMENTS}`);
      assert(ser.engine().backend.counters().liveBuffers <= live, 'a refused tensor allocated device memory');
      // An op's output is bounded as tensor()'s: on the CPU these set out to fill 2^29 float64s (4 GiB) first.
      const [column, row] = [ser.tensor(new Float32Array(2 ** 15), [2 ** 15, 1], { name: 'column' }), ser.tensor(new Float32Array(2 ** 14), [1, 2 ** 14], { name: 'row' })];
      const tooBig = (op: string, shape: string) => new RegExp(`^${op}: its output \\[${shape}\\] would have \\d+ elements, more than the limit of 268435456 \\(MAX_TENSOR_ELEMENTS\\)$`);
      const outputs = ser.engine().backend.counters().liveBuffers;
      await assertThrows(() => ser.matmul(column, row), tooBig('matmul', '32768,16384'), 'matmul [32768,1]·[1,16384]');
      await assertThrows(() => ser.add(column, row), tooBig('add', '32768,16384'), 'add [32768,1] + [1,16384]');
      await assertThrows(() => ser.linear(column, ser.reshape(row, [2 ** 14, 1])), tooBig('linear', '32768,16384'), 'linear to 16384 features');
      const [signal, taps] = [ser.tensor(new Float32Array(10), [1, 1, 10]), ser.tensor(new Float32Array(3), [1, 1, 3])];
      await assertThrows(() => ser.conv1d(signal, taps, null, { padding: 2 ** 27 }), tooBig('conv1d', '1,1,268435464'), 'conv1d padded by 2^27');
      // Strides, windows and paddings past any tensor: the kernels' 32-bit uniforms refused them, naming no op.
      await assertThrows(() => ser.conv1d(signal, taps, null, { stride: 2 ** 40 }), /^conv1d: stride is 1099511627776, more than MAX_TENSOR_ELEMENTS \(268435456\), longer than any tensor$/, 'conv1d stride 2^40');
      await assertThrows(() => ser.maxPool1d(signal, { kernelSize: 2 ** 33, padding: 2 ** 32 }), /^maxPool1d: kernelSize is 8589934592, more than MAX_TENSOR_ELEMENTS/, 'maxPool1d window 2^33');
      await assertThrows(() => ser.avgPool1d(signal, { kernelSize: 2, stride: 2 ** 33 }), /^avgPool1d: stride is 8589934592, more than MAX_TENSOR_ELEMENTS/, 'avgPool1d stride 2^33');
      assert(ser.engine().backend.counters().liveBuffers <= outputs + 2, 'a refused op allocated memory');
      for (const t of [column, row, signal, taps]) t.dispose();
      const logits = ser.tensor(new Float32Array(6), [2, 3], { name: 'logits' });
      await assertThrows(() => ser.crossEntropy(logits, [0, 0.5]), /crossEntropy: target 1 is 0.5, not a class index \(an integer from 0 to 2\)/, 'target 0.5');
      await assertThrows(() => ser.crossEntropy(logits, [NaN, 1]), /target 0 is NaN, not a class index/, 'target NaN');
      await assertThrows(() => ser.crossEntropy(logits, [2 ** 32, 1]), /target 0 is 4294967296, outside the 3 classes/, 'target 2**32 (wraps to 0 in an Int32Array)');
      await assertThrows(() => ser.crossEntropy(logits, [-1, 1]), /target 0 is -1, outside the 3 classes/, 'target -1');
      for (const t of [x, logits]) t.dispose();
    },
  },
  {
    family,
    name: 'a second backward() through a freed graph is an error (as torch), not a silent no-op',
    async run(ser) {
      const { x: w, hidden, loss } = hiddenGraph(ser, 41);
      loss.name = 'loss';
      await loss.backward();
      const first = await w.t.grad!.toArray();
      await assertThrows(() => loss.backward(), /backward\(\): the graph behind loss\[1\] was already used by an earlier backward\(\)/, 'second backward');
      // A new graph built on an intermediate of the spent one would stop at it: refused too, before any work.
      const again = ser.sum(hidden);
      await assertThrows(() => again.backward(), /the graph behind hidden\[3,4\] was already used/, 'backward through a spent intermediate');
      assertClose(await w.t.grad!.toArray(), first, 0, 'the refused backward changed the gradient');
      // A fresh forward pass differentiates again and accumulates.
      await ser.sum(ser.square(ser.relu(w.t))).backward();
      assertClose(await w.t.grad!.toArray(), Float32Array.from(first, (v) => 2 * v), 1e-6, 'accumulated gradient');
    },
  },
  {
    family,
    name: 'maxPool1d propagates NaN (as torch) on this backend',
    async run(ser) {
      const x = ser.tensor(new Float32Array([NaN, 5, 1, 2, 0, 7, NaN, 1, 3, 1, 2, 4, 8, 9, 0, -1]), [1, 1, 16]);
      const y = await ser.maxPool1d(x, { kernelSize: 4 }).toArray();
      assert(Number.isNaN(y[0]) && Number.isNaN(y[1]) && y[2] === 4 && y[3] === 9, `maxPool1d: [${Array.from(y).join(', ')}], expected [NaN, NaN, 4, 9]`);
      const x2 = ser.tensor(new Float32Array([1, 2, NaN, 0, 3, 4, 5]), [1, 1, 7]);
      const y2 = await ser.maxPool1d(x2, { kernelSize: 3, stride: 2, padding: 1 }).toArray();
      assert(y2[0] === 2 && Number.isNaN(y2[1]) && y2[2] === 4 && y2[3] === 5, `maxPool1d k3 s2 p1: [${Array.from(y2).join(', ')}], expected [2, NaN, 4, 5]`);
    },
  },
  {
    family,
    name: 'relu keeps NaN and −0 as torch, and passes the gradient at NaN: the op, linear\'s fused relu, batch norm\'s',
    async run(ser) {
      // torch.relu([nan, -1, 0, -0., 2]) = [nan, 0, 0, -0., 2]; the gradient of its sum is [1, 0, 0, 0, 1]. A relu
      // that took max(x, 0) turned a NaN into 0 on some drivers: a diverged layer read as a silent one.
      const x = ser.tensor(new Float32Array([NaN, -1, 0, -0, 2]), [5], { requiresGrad: true });
      const y = ser.relu(x);
      const yv = await y.toArray();
      assertSameWithNaN(yv, [NaN, 0, 0, 0, 2], 'relu');
      assert(Object.is(yv[3], -0), `relu(−0) is ${yv[3]}, expected −0 (as torch)`);
      await ser.sum(y).backward();
      assertSameWithNaN(await x.grad!.toArray(), [1, 0, 0, 0, 1], 'relu gradient');
      // relu(x·wᵀ) fused into the GEMM: x's first row makes a row of NaN (NaN·0 is NaN), the second [1, −1].
      const xl = ser.tensor(new Float32Array([NaN, 1, 1, 1]), [2, 2], { requiresGrad: true });
      const w = ser.tensor(new Float32Array([1, 0, 0, -1]), [2, 2]);
      const yl = ser.linear(xl, w, null, 'relu');
      assertSameWithNaN(await yl.toArray(), [NaN, NaN, 1, 0], 'linear with the fused relu');
      await ser.sum(yl).backward();
      assertSameWithNaN(await xl.grad!.toArray(), [1, -1, 1, 0], 'linear with the fused relu: dx (torch: the gradient passes at NaN)');
      // Batch norm with the fused relu, x [2, 2, 3] with a NaN in channel 0: in training the channel's statistics
      // are NaN, so all of it is (and its gradient); channel 1 is untouched. In eval, the NaN element alone.
      const xb = Float32Array.from([NaN, 1, 2, -1, 0.5, 3, 4, 5, -6, 7, -2, 1]);
      const channel = (i: number) => Math.floor(i / 3) % 2;
      for (const training of [true, false]) {
        const t = ser.tensor(xb, [2, 2, 3], { requiresGrad: true });
        const state = { runningMean: ser.tensor(new Float32Array(2), [2]), runningVar: ser.tensor(new Float32Array(2).fill(1), [2]) };
        const ones = ser.tensor(new Float32Array(2).fill(1), [2]);
        const yb = ser.batchNorm1d(t, ones, ser.tensor(new Float32Array(2), [2]), state, training, 0.1, 1e-5, 'relu');
        const out = await yb.toArray();
        const nan = (i: number) => (training ? channel(i) === 0 : i === 0);
        out.forEach((v, i) => assert(Number.isNaN(v) === nan(i) && (Number.isNaN(v) || v >= 0), `batchNorm1d fused relu (${training ? 'training' : 'eval'}): value ${i} is ${v} in [${out.join(', ')}]`));
        await ser.sum(yb).backward();
        const dx = await t.grad!.toArray();
        // In training every value of channel 0 depends on the NaN through the mean; in eval the NaN's own gradient
        // passes (1·scale), so no value is NaN.
        dx.forEach((v, i) => assert(Number.isNaN(v) === (training && channel(i) === 0), `batchNorm1d fused relu (${training ? 'training' : 'eval'}) dx: value ${i} is ${v} in [${dx.join(', ')}]`));
      }
    },
  },
  {
    family,
    name: 'a two-layer network fits a small problem: the loss falls by more than half',
    async run(ser) {
      const n = 64;
      const xs = randn(n * 2, 21);
      // Two classes separated by a circle: not linearly separable, so the hidden layer matters.
      const labels = Int32Array.from({ length: n }, (_, i) => (xs[2 * i] ** 2 + xs[2 * i + 1] ** 2 > 1.2 ? 1 : 0));
      const random = ser.seededRandom(3);
      const l1 = new ser.Linear(2, 16, random);
      const l2 = new ser.Linear(16, 2, random);
      const adam = new ser.Adam([...l1.parameters(), ...l2.parameters()], { lr: 0.05 });
      const x = ser.tensor(xs, [n, 2]);
      const losses: number[] = [];
      for (let step = 0; step < 60; step++) {
        const loss = ser.tidy(() => ser.crossEntropy(l2.forward(l1.forward(x, 'relu')), labels));
        await loss.backward();
        adam.step();
        adam.zeroGrad();
        losses.push((await loss.toArray())[0]);
        loss.dispose();
      }
      const first = losses[0];
      const last = losses[losses.length - 1];
      assert(Number.isFinite(last) && last < first * 0.5, `loss went from ${first.toFixed(4)} to ${last.toFixed(4)}`);
    },
  },
  {
    family,
    name: 'loadStateDict refuses values that are not a Float32Array, naming the entry, and writes nothing',
    async run(ser) {
      const layer = new ser.Linear(2, 2, ser.seededRandom(4));
      const state = await layer.stateDict();
      const load = (weight: unknown) => () => layer.loadStateDict({ ...state, weight: weight as { shape: number[]; data: Float32Array } });
      const refused = /^loadStateDict: weight must be \{ shape: number\[\], data: Float32Array \}, got data /;
      // A Float64Array's bytes were written as float32s: [1, 2, 3, 4] became [0, 1.875, 0, 2], and on WebGPU its 32
      // bytes ran past the weight's 16 into what follows it in memory.
      await assertThrows(load({ shape: [2, 2], data: new Float64Array([1, 2, 3, 4]) }), new RegExp(`${refused.source}Float64Array \\(Float32Array\\.from\\(data\\) converts it\\)$`), 'a Float64Array');
      await assertThrows(load({ shape: [2, 2], data: [1, 2, 3, 4] }), new RegExp(`${refused.source}Array \\(Float32Array\\.from\\(data\\) converts it\\)$`), 'an array');
      // A state dict through JSON: its Float32Arrays become objects; "has shape [2,2] but the model expects [2,2]" had said.
      await assertThrows(load(JSON.parse(JSON.stringify(state.weight))), new RegExp(`${refused.source}Object$`), 'a JSON round trip');
      await assertThrows(load(null), new RegExp(`${refused.source}undefined$`), 'null');
      await assertThrows(load({ shape: [2, 2], data: new Float32Array(3) }), /^loadStateDict: weight has 3 values for its shape \[2,2\] of 4$/, 'too few values');
      await assertThrows(() => layer.loadStateDict(null as never), /^loadStateDict: the state dict must be an object/, 'no state dict');
      assertClose(await layer.weight.toArray(), state.weight.data, 0, 'a refused state dict changed the weight');
      layer.loadStateDict({ ...state, weight: { shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) } });
      assertClose(await layer.weight.toArray(), [1, 2, 3, 4], 0, 'the weight loaded');
      layer.dispose();
    },
  },
  {
    family,
    name: "layers refuse sizes that are not positive integers, naming the layer, and batch norm a NaN momentum or a non-positive eps",
    async run(ser) {
      const live = ser.engine().backend.counters().liveBuffers;
      await assertThrows(() => new ser.Linear(2.5, 3), /^Linear: inFeatures must be a positive integer, got 2\.5$/, 'Linear(2.5, 3)');
      await assertThrows(() => new ser.Linear(-1, 3), /^Linear: inFeatures must be a positive integer, got -1$/, 'Linear(-1, 3): "Invalid typed array length: -3"');
      await assertThrows(() => new ser.Linear(4, 0), /^Linear: outFeatures must be a positive integer, got 0$/, 'Linear(4, 0)');
      const given = { weight: new Float32Array(5), bias: new Float32Array(2) };
      await assertThrows(() => new ser.Linear(3, 2, given), /^Linear\(3, 2\): initial weight of 5 and bias of 2 values, expected 6 and 2$/, 'Linear(3, 2) given 5 weights');
      await assertThrows(() => new ser.Conv1d(3, 4, 0), /^Conv1d: kernelSize must be a positive integer, got 0$/, 'Conv1d(3, 4, 0)');
      await assertThrows(() => new ser.Conv1d(3, 4, 3, { stride: 0 }), /^Conv1d: stride must be a positive integer, got 0$/, 'Conv1d stride 0');
      await assertThrows(() => new ser.Conv1d(3, 4, 3, { padding: -1 }), /^Conv1d: padding must be a non-negative integer, got -1$/, 'Conv1d padding -1');
      await assertThrows(() => new ser.BatchNorm1d(NaN), /^BatchNorm1d: channels must be a positive integer, got NaN$/, 'BatchNorm1d(NaN)');
      assert(ser.engine().backend.counters().liveBuffers <= live, 'a refused layer allocated device memory');
      const x = ser.tensor(randn(12, 61), [4, 3], { name: 'x' });
      const state = { runningMean: ser.zeros([3]), runningVar: ser.ones([3]) };
      const [gamma, beta] = [ser.ones([3]), ser.zeros([3])];
      // NaN went into the running statistics in silence, and a negative eps into a square root.
      await assertThrows(() => ser.batchNorm1d(x, gamma, beta, state, true, NaN), /^batchNorm1d: momentum must be a number from 0 to 1, got NaN$/, 'momentum NaN');
      await assertThrows(() => ser.batchNorm1d(x, gamma, beta, state, false, 0.1, -2), /^batchNorm1d: eps must be a positive finite number, got -2$/, 'eps -2');
      assertClose(await state.runningMean.toArray(), [0, 0, 0], 0, 'a refused batch norm moved the running mean');
      for (const t of [x, gamma, beta, state.runningMean, state.runningVar]) t.dispose();
    },
  },
  {
    family,
    name: "a gradient disposed but left as .grad is named before backward() adds to it; an Adam over a disposed module's parameters refuses to step",
    async run(ser) {
      const layer = new ser.Linear(3, 2, ser.seededRandom(7));
      const adam = new ser.Adam(layer.parameters());
      const x = ser.tensor(randn(6, 71), [2, 3], { name: 'x' });
      await ser.sum(layer.forward(x)).backward();
      const first = await layer.weight.grad!.toArray();
      layer.weight.grad!.dispose();
      // The pass failed where it added to the dead tensor, halfway through, saying only "tensor[2,3] was disposed".
      await assertThrows(() => ser.sum(layer.forward(x)).backward(), /^backward\(\): the gradient of weight\[2,3\] was disposed but is still its \.grad/, 'a disposed .grad');
      layer.weight.grad = null;
      await ser.sum(layer.forward(x)).backward();
      assertClose(await layer.weight.grad!.toArray(), first, 1e-6, 'the gradient after dropping the disposed one');
      layer.dispose();
      assert(layer.parameters().every((p) => p.grad === null), "a module's dispose() left its parameters' disposed gradients as .grad");
      await assertThrows(() => adam.step(), /^Adam: parameter 0 weight\[2,3\] was disposed \(its module's dispose\(\)\?\): nothing to step$/, 'a step after dispose()');
      adam.dispose();
      x.dispose();
    },
  },
  {
    family,
    name: 'a module refuses a state-dict name with a dot, or one used twice, which would overwrite another entry',
    async run(ser) {
      class Named extends ser.Module {
        constructor(names: [string, string]) {
          super();
          this.child(names[0], new ser.Linear(1, 1, ser.seededRandom(1)));
          this.child(names[1], new ser.Linear(1, 1, ser.seededRandom(2)));
        }
      }
      await assertThrows(() => new Named(['a', 'a']), /name "a" is already taken/, 'a child name used twice');
      await assertThrows(() => new Named(['a', 'a.weight']), /"a\.weight" must be non-empty and without dots/, 'a dotted child name');
      const ok = new Named(['a', 'b']);
      assert(ok.namedParameters().map(([n]) => n).join() === 'a.weight,a.bias,b.weight,b.bias', 'distinct names give distinct entries');
      // Errors name a layer's tensors by their state-dict names: "weight[1,1]" could have been a's or b's.
      class Outer extends ser.Module {
        inner = this.child('inner', new Named(['a', 'b']));
        norm = this.child('norm', new ser.BatchNorm1d(2));
      }
      const outer = new Outer();
      const names = [...outer.namedParameters(), ...outer.namedBuffers()];
      assert(names.every(([n, t]) => t.name === n), `tensor names ${names.map(([, t]) => t.name)}`);
      await assertThrows(() => outer.norm.forward(ser.tensor(new Float32Array(6), [2, 3], { name: 'x' })), /^batchNorm1d: norm\.weight\[2\] must be \[3\] for input x\[2,3\]$/, 'a batch norm of the wrong size');
    },
  },
];

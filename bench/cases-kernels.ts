// The kernel cases: every kernel the SER model runs, at the shapes the m5 design (batch 16, 3-s windows at
// 16 kHz; the design TensorFlow.js's twin implements, ser-tfjs.ts) gives it, forward and backward; and GEMM from 256³ up, with the classifier's skinny products; and the
// floor under them all, one dispatch that does nothing.
// tfjs runs conv1d as conv2d of height 1 (channels-last, [N,1,L,C]), the layout tfjs's own conv1d uses;
// inputs are converted once, outside timing, and outputs are converted back for the checks.

import type * as TF from '@tensorflow/tfjs-core';
import { conv1dGeometry, kernels, pool1dGeometry, reference, type Conv1dParams, type Pool1dParams, type Storage } from '../src/index.js';
import { allocate } from '../src/gpu/storage.js';
import { Inputs, type Expectation, type KernelCase, type Prepared } from './case.js';
import { gather3, gatherRows, hwioToWeight, nclToNlc, nlcToNcl, probes, randomArray, range, weightToHwio } from './check.js';

const F32 = 4;

// ------------------------------------------------------------------------------------------------ conv1d

/** One convolution: x [N, Cin, L], w [Cout, Cin, K], dilation 1. */
export type ConvLayer = Record<'N' | 'Cin' | 'Cout' | 'L' | 'K' | 'stride' | 'padding', number>;

/** The m5 design's four convolutions (m5ModelConfig in src/model/config.ts, not the default model's filter bank
 * and k5 blocks): padding as ConvBlock chooses it. */
export const MODEL_CONV_LAYERS: ConvLayer[] = [
  { N: 16, Cin: 1, Cout: 64, L: 48000, K: 80, stride: 4, padding: 39 },
  { N: 16, Cin: 64, Cout: 128, L: 3000, K: 3, stride: 1, padding: 1 },
  { N: 16, Cin: 128, Cout: 128, L: 750, K: 3, stride: 1, padding: 1 },
  { N: 16, Cin: 128, Cout: 256, L: 187, K: 3, stride: 1, padding: 1 },
];

export type ConvPass = 'fwd' | 'bwdInput' | 'bwdWeight';

const SHORT_PASS: Record<ConvPass, string> = { fwd: 'fwd', bwdInput: 'bwdX', bwdWeight: 'bwdW' };

/** `index` names the layer in the chart (conv1 = the filter bank). */
export function convCase(layer: ConvLayer, pass: ConvPass, index = 0): KernelCase {
  const { N, Cin, Cout, L, K, stride, padding } = layer;
  const p: Conv1dParams = { stride, padding, dilation: 1 };
  const xShape = [N, Cin, L];
  const wShape = [Cout, Cin, K];
  const g = conv1dGeometry(xShape, wShape, p);
  const Lout = g.Lout;
  const yShape = [N, Cout, Lout];
  const shape = `${N}x${Cin}x${L}->${Cout} k${K}${stride > 1 ? `/${stride}` : ''}`;
  return {
    name: `conv1d.${pass} ${shape}`,
    label: `conv${index + 1} ${SHORT_PASS[pass]}`,
    flops: 2 * N * Cout * Lout * Cin * K,
    prepare(ctx): Prepared {
      // Only the operands this pass reads are made (dy of the first layer alone is 12 M values).
      const x = pass === 'bwdInput' ? new Float32Array(0) : randomArray(N * Cin * L, 11);
      const w = randomArray(Cout * Cin * K, 12, -1 / Math.sqrt(Cin * K), 1 / Math.sqrt(Cin * K));
      const dy = pass === 'fwd' ? new Float32Array(0) : randomArray(N * Cout * Lout, 13);
      const inputs = new Inputs(ctx);
      const b = ctx.backend;
      const n = N - 1; // the last sample: the first one is the least likely to expose an indexing slip
      let ours: () => Storage[];
      let expect: Expectation;
      if (pass === 'fwd') {
        const [xs, ws] = [inputs.ours(x), inputs.ours(w)];
        ours = () => [kernels.conv1d(b, xs, ws, null, g)];
        const cos = probes(Cout);
        expect = {
          output: 0,
          label: `y[${n}, ${cos}, :]`,
          pick: (y) => gather3(y, yShape, [n], cos),
          want: () => reference.conv1d(gather3(x, xShape, [n], range(Cin)), [1, Cin, L], gather3(w, wShape, cos, range(Cin)), [cos.length, Cin, K], null, p),
        };
      } else if (pass === 'bwdInput') {
        const [dys, ws] = [inputs.ours(dy), inputs.ours(w)];
        ours = () => [kernels.conv1dBackwardInput(b, dys, ws, g)];
        const cis = probes(Cin);
        expect = {
          output: 0,
          label: `dx[${n}, ${cis}, :]`,
          pick: (dx) => gather3(dx, xShape, [n], cis),
          want: () => reference.conv1dBackwardInput(gather3(dy, yShape, [n], range(Cout)), gather3(w, wShape, range(Cout), cis), [1, cis.length, L], [Cout, cis.length, K], p),
        };
      } else {
        const [dys, xs] = [inputs.ours(dy), inputs.ours(x)];
        ours = () => [kernels.conv1dBackwardWeight(b, dys, xs, g)];
        const cos = probes(Cout);
        expect = {
          output: 0,
          label: `dw[${cos}, :, :]`,
          pick: (dw) => gather3(dw, [1, Cout, Cin * K], [0], cos),
          want: () => reference.conv1dBackwardWeight(gather3(dy, yShape, range(N), cos), x, xShape, [cos.length, Cin, K], p),
        };
      }
      const prepared: Prepared = { ours, expect: [expect], dispose: () => inputs.dispose() };
      const tf = ctx.tf;
      if (tf) {
        const pad: TF.backend_util.ExplicitPadding = [[0, 0], [0, 0], [padding, padding], [0, 0]];
        const strides: [number, number] = [1, stride];
        const x4 = () => inputs.tfjs(nclToNlc(x, xShape), [N, 1, L, Cin]) as TF.Tensor4D;
        const w4 = () => inputs.tfjs(weightToHwio(w, wShape), [1, K, Cin, Cout]) as TF.Tensor4D;
        const dy4 = () => inputs.tfjs(nclToNlc(dy, yShape), [N, 1, Lout, Cout]);
        // The backward kernels are those tfjs's conv2d gradient runs (Conv2D_grad: Conv2DBackpropInput/Filter).
        if (pass === 'fwd') {
          const [xt, wt] = [x4(), w4()];
          prepared.tfjs = () => [tf.conv2d(xt, wt, strides, pad)];
          prepared.tfjsToOurs = [(d) => nlcToNcl(d, yShape)];
        } else if (pass === 'bwdInput') {
          const [dyt, wt] = [dy4(), w4()];
          const attrs = { strides, pad, dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape: [N, 1, L, Cin] } as unknown as TF.NamedAttrMap;
          prepared.tfjs = () => [tf.engine().runKernel<TF.Tensor>('Conv2DBackpropInput', { dy: dyt, filter: wt }, attrs)];
          prepared.tfjsToOurs = [(d) => nlcToNcl(d, xShape)];
        } else {
          const [xt, dyt] = [x4(), dy4()];
          const attrs = { strides, pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: [1, K, Cin, Cout] } as unknown as TF.NamedAttrMap;
          prepared.tfjs = () => [tf.engine().runKernel<TF.Tensor>('Conv2DBackpropFilter', { x: xt, dy: dyt }, attrs)];
          prepared.tfjsToOurs = [(d) => hwioToWeight(d, wShape)];
        }
      }
      return prepared;
    },
  };
}

// The memory-bound kernels below are checked on a few (sample, channel) rows, or a few channels with every
// sample for batch norm: rows and channels are independent, so the reference computes exactly those.

// ------------------------------------------------------------------------------------------------ max pooling

export function maxPoolCase(shape: number[], factor: number, pass: 'fwd' | 'bwd'): KernelCase {
  const [N, C, L] = shape;
  const p: Pool1dParams = { kernelSize: factor, stride: factor, padding: 0 };
  const g = pool1dGeometry(shape, p);
  const Lout = g.Lout;
  const outShape = [N, C, Lout];
  const size = N * C * L;
  const outSize = N * C * Lout;
  return {
    name: `maxPool1d.${pass} ${N}x${C}x${L} /${factor}`,
    label: `pool ${pass} ${C}x${L}`,
    // fwd reads x, writes y; bwd reads x and dy, writes dx
    bytes: pass === 'fwd' ? (size + outSize) * F32 : (2 * size + outSize) * F32,
    tol: 0,
    prepare(ctx): Prepared {
      const x = randomArray(size, 21);
      const inputs = new Inputs(ctx);
      const b = ctx.backend;
      const xs = inputs.ours(x);
      const [ns, cs] = [probes(N), probes(C)];
      const sub = [ns.length, cs.length, L];
      const label = `rows n ${ns}, c ${cs}`;
      const tf = ctx.tf;
      const x4 = tf ? (inputs.tfjs(nclToNlc(x, shape), [N, 1, L, C]) as TF.Tensor4D) : null;
      const window: [number, number] = [1, factor];
      if (pass === 'fwd') {
        const prepared: Prepared = {
          ours: () => [kernels.maxPool1d(b, xs, g)],
          expect: [{ output: 0, label: `y ${label}`, pick: (y) => gather3(y, outShape, ns, cs), want: () => reference.maxPool1d(gather3(x, shape, ns, cs), sub, p) }],
          dispose: () => inputs.dispose(),
        };
        if (tf && x4) {
          prepared.tfjs = () => [tf.maxPool(x4, window, window, 'valid')];
          prepared.tfjsToOurs = [(d) => nlcToNcl(d, outShape)];
        }
        return prepared;
      }
      const dy = randomArray(outSize, 22);
      const dys = inputs.ours(dy);
      const prepared: Prepared = {
        ours: () => [kernels.maxPool1dBackward(b, xs, dys, g)],
        expect: [
          {
            output: 0,
            label: `dx ${label}`,
            pick: (dx) => gather3(dx, shape, ns, cs),
            want: () => reference.maxPool1dBackward(gather3(x, shape, ns, cs), gather3(dy, outShape, ns, cs), sub, p),
          },
        ],
        dispose: () => inputs.dispose(),
      };
      if (tf && x4) {
        const dy4 = inputs.tfjs(nclToNlc(dy, outShape), [N, 1, Lout, C]);
        const y4 = inputs.adopt(tf.maxPool(x4, window, window, 'valid'));
        // The kernel tfjs's maxPool gradient runs (MaxPool_grad → MaxPoolGrad).
        const attrs = { filterSize: window, strides: window, pad: 'valid', dimRoundingMode: undefined } as unknown as TF.NamedAttrMap;
        prepared.tfjs = () => [tf.engine().runKernel<TF.Tensor>('MaxPoolGrad', { dy: dy4, input: x4, output: y4 }, attrs)];
        prepared.tfjsToOurs = [(d) => nlcToNcl(d, shape)];
      }
      return prepared;
    },
  };
}

// ------------------------------------------------------------------------------------------------ batch norm

const EPS = 1e-5;

/** Training-mode batch norm with the fused relu, as the model runs it: fwd = batch statistics + normalisation +
 * relu (tfjs: batchNorm then relu); bwd = dx, dgamma, dbeta through the relu's mask (tfjs: dy·step(y), then the
 * batch-norm gradient). */
export function batchNormCase(shape: number[], pass: 'fwd' | 'bwd'): KernelCase {
  const [N, C, L] = shape;
  const size = N * C * L;
  return {
    name: `batchNorm+relu.${pass} ${N}x${C}x${L}`,
    label: `BN+relu ${pass} ${C}x${L}`,
    // The least traffic: fwd reads x for the statistics, then reads x and writes y; bwd reads x, y and dy, writes dx.
    bytes: (pass === 'fwd' ? 3 : 4) * size * F32,
    tol: 2e-3,
    prepare(ctx): Prepared {
      const x = randomArray(size, 31, -2, 3);
      const gamma = randomArray(C, 33, 0.5, 1.5);
      const beta = randomArray(C, 34, -0.5, 0.5);
      const inputs = new Inputs(ctx);
      const b = ctx.backend;
      const [xs, gs, bs] = [inputs.ours(x), inputs.ours(gamma), inputs.ours(beta)];
      const cs = probes(C);
      const ns = range(N);
      const sub = [N, cs.length, L];
      const xSub = gather3(x, shape, ns, cs);
      const perChannel = (v: ArrayLike<number>) => Float64Array.from(cs, (c) => v[c]);
      const stats = reference.batchNormStats(xSub, sub);
      const tf = ctx.tf;
      const x4 = tf ? inputs.tfjs(nclToNlc(x, shape), [N, 1, L, C]) : null;
      const g1 = tf ? inputs.tfjs(gamma, [C]) : null;
      const toNcl = (d: Float32Array) => nlcToNcl(d, shape);
      const same = (d: Float32Array) => d;
      if (pass === 'fwd') {
        const prepared: Prepared = {
          ours: () => {
            const f = kernels.batchNormForward(b, xs, shape, gs, bs, EPS, true);
            return [f.y, f.mean, f.variance];
          },
          expect: [
            {
              output: 0,
              label: `y channels ${cs}`,
              pick: (y) => gather3(y, shape, ns, cs),
              want: () => reference.batchNormApply(xSub, sub, stats.mean, stats.variance, perChannel(gamma), perChannel(beta), EPS, true),
            },
            { output: 1, label: `mean channels ${cs}`, pick: perChannel, want: () => stats.mean },
            { output: 2, label: `variance channels ${cs}`, pick: perChannel, want: () => stats.variance },
          ],
          dispose: () => inputs.dispose(),
        };
        if (tf && x4 && g1) {
          const b1 = inputs.tfjs(beta, [C]);
          prepared.tfjs = () =>
            tf.tidy(() => {
              const { mean, variance } = tf.moments(x4, [0, 1, 2]);
              return [tf.relu(tf.batchNorm(x4, mean, variance, b1, g1, EPS)), mean, variance];
            });
          prepared.tfjsToOurs = [toNcl, same, same];
        }
        return prepared;
      }
      // bwd: the statistics of all channels are an input, computed once here (not timed).
      const full = reference.batchNormStats(x, shape);
      const [mean, variance] = [Float32Array.from(full.mean), Float32Array.from(full.variance)];
      const dy = randomArray(size, 32);
      const y = Float32Array.from(reference.batchNormApply(x, shape, mean, variance, gamma, beta, EPS, true));
      const [dys, ms, vs, ys] = [inputs.ours(dy), inputs.ours(mean), inputs.ours(variance), inputs.ours(y)];
      let ref: ReturnType<typeof reference.batchNormBackward> | null = null;
      const r = () => (ref ??= reference.batchNormBackward(xSub, gather3(dy, shape, ns, cs), sub, perChannel(mean), perChannel(variance), perChannel(gamma), EPS, gather3(y, shape, ns, cs)));
      const prepared: Prepared = {
        ours: () => {
          const g = kernels.batchNormBackward(b, xs, dys, shape, ms, vs, gs, EPS, ys);
          return [g.dx, g.dgamma, g.dbeta];
        },
        expect: [
          { output: 0, label: `dx channels ${cs}`, pick: (d) => gather3(d, shape, ns, cs), want: () => r().dx },
          { output: 1, label: `dgamma channels ${cs}`, pick: perChannel, want: () => r().dgamma },
          { output: 2, label: `dbeta channels ${cs}`, pick: perChannel, want: () => r().dbeta },
        ],
        dispose: () => inputs.dispose(),
      };
      if (tf && x4 && g1) {
        // tfjs has no batch-norm backward kernel: the relu's gradient (as tfjs's Relu gradient computes it), then
        // the same formula as ours (and the reference's), in tfjs ops.
        const dyIn = inputs.tfjs(nclToNlc(dy, shape), [N, 1, L, C]);
        const y4 = inputs.tfjs(nclToNlc(y, shape), [N, 1, L, C]);
        const [m1, v1] = [inputs.tfjs(mean, [C]), inputs.tfjs(variance, [C])];
        const M = N * L;
        prepared.tfjs = () =>
          tf.tidy(() => {
            const dy4 = tf.mul(dyIn, tf.step(y4));
            const invStd = tf.rsqrt(tf.add(v1, EPS));
            const xhat = tf.mul(tf.sub(x4, m1), invStd);
            const dbeta = tf.sum(dy4, [0, 1, 2]);
            const dgamma = tf.sum(tf.mul(dy4, xhat), [0, 1, 2]);
            const k = tf.div(tf.mul(g1, invStd), M);
            const dx = tf.mul(k, tf.sub(tf.sub(tf.mul(dy4, M), dbeta), tf.mul(xhat, dgamma)));
            return [dx, dgamma, dbeta];
          });
        prepared.tfjsToOurs = [toNcl, same, same];
      }
      return prepared;
    },
  };
}

// ------------------------------------------------------------------------------------------------ GEMM

export interface GemmShape {
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
}

/** C[M,N] = op(A)·op(B); checked on a few rows of C (all rows when the product is small). */
export function gemmCase(name: string, label: string, g: GemmShape): KernelCase {
  const { M, N, K } = g;
  const transA = !!g.transA;
  const transB = !!g.transB;
  return {
    name,
    label,
    flops: 2 * M * N * K,
    prepare(ctx): Prepared {
      const a = randomArray(M * K, 51);
      const bData = randomArray(K * N, 52);
      const inputs = new Inputs(ctx);
      const [as, bs] = [inputs.ours(a), inputs.ours(bData)];
      const rows = M * N * K <= 1 << 24 ? range(M) : probes(M);
      const aRows = () => {
        if (!transA) return gatherRows(a, K, rows);
        const out = new Float32Array(K * rows.length); // A stored [K,M]: keep the chosen columns
        for (let k = 0; k < K; k++) rows.forEach((r, i) => (out[k * rows.length + i] = a[k * M + r]));
        return out;
      };
      const prepared: Prepared = {
        ours: () => [kernels.gemm(ctx.backend, as, bs, { M, N, K, transA, transB })],
        expect: [
          {
            output: 0,
            label: rows.length === M ? 'C' : `C rows ${rows}`,
            pick: (c) => gatherRows(c, N, rows),
            want: () => reference.gemm(aRows(), bData, { M: rows.length, N, K, transA, transB }),
          },
        ],
        dispose: () => inputs.dispose(),
      };
      const tf = ctx.tf;
      if (tf) {
        const a2 = inputs.tfjs(a, transA ? [K, M] : [M, K]) as TF.Tensor2D;
        const b2 = inputs.tfjs(bData, transB ? [N, K] : [K, N]) as TF.Tensor2D;
        prepared.tfjs = () => [tf.matMul(a2, b2, transA, transB)];
      }
      return prepared;
    },
  };
}

/** The three products of a layer C = A·B and its backward pass, as autograd runs them (src/engine/ops.ts). */
export function matmulCases(M: number, N: number, K: number): KernelCase[] {
  const dims = M === N && N === K ? `${M}^3` : `${M}x${K}x${N}`;
  return [
    gemmCase(`gemm.fwd ${dims}`, `gemm fwd ${M}`, { M, N, K }),
    gemmCase(`gemm.bwdA ${dims}`, `gemm bwdA ${M}`, { M, N: K, K: N, transB: true }), // dA = dC·Bᵀ
    gemmCase(`gemm.bwdB ${dims}`, `gemm bwdB ${M}`, { M: K, N, K: M, transA: true }), // dB = Aᵀ·dC
  ];
}

/** A linear layer y = x·Wᵀ (x [rows,in], W [out,in]) and its backward products, as `linear` runs them. */
export function linearCases(rows: number, inF: number, outF: number): KernelCase[] {
  const dims = `${rows}x${inF}->${outF}`;
  return [
    gemmCase(`linear.fwd ${dims}`, `fc${inF} fwd`, { M: rows, N: outF, K: inF, transB: true }),
    gemmCase(`linear.bwdInput ${dims}`, `fc${inF} bwdX`, { M: rows, N: inF, K: outF }), // dx = dy·W
    gemmCase(`linear.bwdWeight ${dims}`, `fc${inF} bwdW`, { M: outF, N: inF, K: rows, transA: true }), // dW = dyᵀ·x
  ];
}

// ------------------------------------------------------------------------------------------------ the floor

/** A kernel that writes one value (the runtime's convention: storage from binding 1 on). */
const FLOOR_SHADER = `@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(1) fn main() { out[0] = 1.0; }`;

/** One workgroup of one thread writing one value, recorded as any kernel is (a pooled output, the binding cache,
 * the batch's pass): the least a kernel costs on this adapter, the floor under the smallest cases (each of the
 * classifier's 16x64->4 products is one dispatch). Ours only: tfjs has no op this small, and any op of its own
 * would time its host path as well. */
export function dispatchFloorCase(): KernelCase {
  return {
    name: 'dispatch.floor 1x1',
    label: 'dispatch floor',
    prepare(ctx): Prepared {
      const rt = ctx.engine.runtime!;
      return {
        ours: () => {
          const out = allocate(rt, 1, 'dispatch floor');
          rt.dispatch({ kernel: 'dispatch.floor', shader: FLOOR_SHADER, buffers: [out.buffer], workgroups: [1] });
          return [out];
        },
        expect: [{ output: 0, label: 'out[0]', pick: (c) => c.subarray(0, 1), want: () => [1] }],
        dispose: () => undefined,
      };
    },
  };
}

/** GEMM sizes: 256³ to 4096³; on a CPU adapter only up to 1024³ unless asked (2048³ takes minutes there). */
export function gemmSizes(cpuAdapter: boolean, requested: number[] | null): { sizes: number[]; note?: string } {
  if (requested) return { sizes: requested };
  const all = [256, 512, 1024, 2048, 4096];
  if (!cpuAdapter) return { sizes: all };
  return {
    sizes: all.filter((s) => s <= 1024),
    note: 'CPU adapter: GEMM 2048^3 and 4096^3 skipped (ask with --sizes 2048,4096); a full run takes 10-20 minutes here, --filter narrows it',
  };
}

/** Every kernel case at the m5 design's shapes (`scale` < 1 shrinks batch and lengths, for the smoke test). */
export function kernelCases(gemm: number[], scale = 1): KernelCase[] {
  const s = (v: number) => Math.max(4, Math.round(v * scale));
  const layers = MODEL_CONV_LAYERS.map((l) => ({ ...l, N: scale < 1 ? 2 : l.N, L: s(l.L) }));
  const N = scale < 1 ? 2 : 16;
  const first = [N, 64, s(12000)]; // conv1's output: [16,64,12000] at full size
  const second = [N, 128, s(3000)]; // conv2's output
  const cases: KernelCase[] = [];
  layers.forEach((layer, i) => {
    for (const pass of ['fwd', 'bwdInput', 'bwdWeight'] as const) cases.push(convCase(layer, pass, i));
  });
  for (const shape of [first, second]) {
    cases.push(maxPoolCase(shape, 4, 'fwd'), maxPoolCase(shape, 4, 'bwd'));
    cases.push(batchNormCase(shape, 'fwd'), batchNormCase(shape, 'bwd'));
  }
  for (const size of gemm) cases.push(...matmulCases(size, size, size));
  // The classifier: hidden layer 256 features + gender one-hot → 64, then 64 → 4 emotions (batch 16).
  cases.push(...linearCases(16, 258, 64), ...linearCases(16, 64, 4), dispatchFloorCase());
  return cases;
}

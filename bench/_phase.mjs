var __defProp = Object.defineProperty;
var __export = (target, all) => {
  for (var name in all)
    __defProp(target, name, { get: all[name], enumerable: true });
};

// src/engine/cpu/reference.ts
var reference_exports = {};
__export(reference_exports, {
  accumulate: () => accumulate,
  adamStep: () => adamStep,
  affine: () => affine,
  avgPool1d: () => avgPool1d,
  avgPool1dBackward: () => avgPool1dBackward,
  batchNormApply: () => batchNormApply,
  batchNormBackward: () => batchNormBackward,
  batchNormStats: () => batchNormStats,
  binary: () => binary,
  broadcastTo: () => broadcastTo,
  concat: () => concat,
  conv1d: () => conv1d,
  conv1dBackwardInput: () => conv1dBackwardInput,
  conv1dBackwardWeight: () => conv1dBackwardWeight,
  dropoutMask: () => dropoutMask,
  gemm: () => gemm,
  gemmBackward: () => gemmBackward,
  maxPool1d: () => maxPool1d,
  maxPool1dBackward: () => maxPool1dBackward,
  slice: () => slice,
  softmax: () => softmax,
  softmaxBackward: () => softmaxBackward,
  softmaxCrossEntropy: () => softmaxCrossEntropy,
  softmaxCrossEntropyBackward: () => softmaxCrossEntropyBackward,
  sumTo: () => sumTo,
  unary: () => unary,
  unaryBackward: () => unaryBackward
});

// src/engine/cpu/elementwise.ts
var GELU_K = Math.sqrt(2 / Math.PI);
var GELU_C = 0.044715;
var LEAKY_SLOPE = 0.01;
function unaryValue(op, x) {
  switch (op) {
    case "relu":
      return x > 0 ? x : 0;
    case "sigmoid":
      return 1 / (1 + Math.exp(-x));
    case "tanh":
      return Math.tanh(x);
    case "exp":
      return Math.exp(x);
    case "log":
      return Math.log(x);
    case "neg":
      return -x;
    case "abs":
      return Math.abs(x);
    case "sqrt":
      return Math.sqrt(x);
    case "square":
      return x * x;
    case "gelu":
      return 0.5 * x * (1 + Math.tanh(GELU_K * (x + GELU_C * x * x * x)));
    case "leakyRelu":
      return x > 0 ? x : LEAKY_SLOPE * x;
  }
}
function unaryDerivative(op, x, y) {
  switch (op) {
    case "relu":
      return x > 0 ? 1 : 0;
    case "sigmoid":
      return y * (1 - y);
    case "tanh":
      return 1 - y * y;
    case "exp":
      return y;
    case "log":
      return 1 / x;
    case "neg":
      return -1;
    case "abs":
      return Math.sign(x);
    case "sqrt":
      return 0.5 / y;
    case "square":
      return 2 * x;
    case "gelu": {
      const t = Math.tanh(GELU_K * (x + GELU_C * x * x * x));
      return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_K * (1 + 3 * GELU_C * x * x);
    }
    case "leakyRelu":
      return x > 0 ? 1 : LEAKY_SLOPE;
  }
}
function unary(op, x) {
  return Float64Array.from(x, (v) => unaryValue(op, v));
}
function unaryBackward(op, x, y, dy) {
  const dx = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) dx[i] = dy[i] * unaryDerivative(op, x[i], y[i]);
  return dx;
}
var size = (shape) => shape.reduce((a, b) => a * b, 1);
function broadcastOffset(coord, shape) {
  let offset = 0;
  for (let d2 = 0; d2 < shape.length; d2++) offset = offset * shape[d2] + (shape[d2] === 1 ? 0 : coord[d2]);
  return offset;
}
function forEachIndex(outShape, fn) {
  const coord = outShape.map(() => 0);
  const n = size(outShape);
  for (let i = 0; i < n; i++) {
    fn(i, coord);
    for (let d2 = outShape.length - 1; d2 >= 0; d2--) {
      if (++coord[d2] < outShape[d2]) break;
      coord[d2] = 0;
    }
  }
}
function binary(op, a, aShape, b, bShape, outShape) {
  const out = new Float64Array(size(outShape));
  forEachIndex(outShape, (i, coord) => {
    const u = a[broadcastOffset(coord, aShape)];
    const v = b[broadcastOffset(coord, bShape)];
    out[i] = op === "add" ? u + v : op === "sub" ? u - v : op === "mul" ? u * v : u / v;
  });
  return out;
}
function affine(x, alpha, beta) {
  return Float64Array.from(x, (v) => alpha * v + beta);
}
function accumulate(acc, x) {
  return Float64Array.from(acc, (v, i) => v + x[i]);
}
function sumTo(x, shape, outShape) {
  const out = new Float64Array(size(outShape));
  forEachIndex(shape, (i, coord) => {
    out[broadcastOffset(coord, outShape)] += x[i];
  });
  return out;
}
function broadcastTo(x, shape, outShape) {
  const out = new Float64Array(size(outShape));
  forEachIndex(outShape, (i, coord) => {
    out[i] = x[broadcastOffset(coord, shape)];
  });
  return out;
}
function concat(inputs, shapes, axis) {
  const outer = size(shapes[0].slice(0, axis));
  const inner = size(shapes[0].slice(axis + 1));
  const rowLengths = shapes.map((s) => s[axis] * inner);
  const outRow = rowLengths.reduce((a, b) => a + b, 0);
  const out = new Float64Array(outer * outRow);
  let column = 0;
  inputs.forEach((x, k) => {
    const row = rowLengths[k];
    for (let r = 0; r < outer; r++) {
      for (let j = 0; j < row; j++) out[r * outRow + column + j] = x[r * row + j];
    }
    column += row;
  });
  return out;
}
function slice(x, shape, axis, start, length) {
  const outer = size(shape.slice(0, axis));
  const inner = size(shape.slice(axis + 1));
  const inRow = shape[axis] * inner;
  const outRow = length * inner;
  const out = new Float64Array(outer * outRow);
  for (let r = 0; r < outer; r++) {
    for (let j = 0; j < outRow; j++) out[r * outRow + j] = x[r * inRow + start * inner + j];
  }
  return out;
}

// src/engine/cpu/conv1d.ts
function outputLength(length, kernel, p) {
  return Math.floor((length + 2 * p.padding - p.dilation * (kernel - 1) - 1) / p.stride) + 1;
}
function conv1d(x, xShape, w, wShape, bias, p) {
  const [N, Cin, L] = xShape;
  const [Cout, , K] = wShape;
  const Lout = outputLength(L, K, p);
  const y = new Float64Array(N * Cout * Lout);
  for (let n = 0; n < N; n++) {
    for (let co = 0; co < Cout; co++) {
      for (let lo = 0; lo < Lout; lo++) {
        let sum2 = bias ? bias[co] : 0;
        for (let ci = 0; ci < Cin; ci++) {
          for (let k = 0; k < K; k++) {
            const l = lo * p.stride - p.padding + k * p.dilation;
            if (l >= 0 && l < L) sum2 += w[(co * Cin + ci) * K + k] * x[(n * Cin + ci) * L + l];
          }
        }
        y[(n * Cout + co) * Lout + lo] = sum2;
      }
    }
  }
  return y;
}
function conv1dBackwardInput(dy, w, xShape, wShape, p) {
  const [N, Cin, L] = xShape;
  const [Cout, , K] = wShape;
  const Lout = outputLength(L, K, p);
  const dx = new Float64Array(N * Cin * L);
  for (let n = 0; n < N; n++) {
    for (let co = 0; co < Cout; co++) {
      for (let lo = 0; lo < Lout; lo++) {
        const g = dy[(n * Cout + co) * Lout + lo];
        for (let ci = 0; ci < Cin; ci++) {
          for (let k = 0; k < K; k++) {
            const l = lo * p.stride - p.padding + k * p.dilation;
            if (l >= 0 && l < L) dx[(n * Cin + ci) * L + l] += g * w[(co * Cin + ci) * K + k];
          }
        }
      }
    }
  }
  return dx;
}
function conv1dBackwardWeight(dy, x, xShape, wShape, p) {
  const [N, Cin, L] = xShape;
  const [Cout, , K] = wShape;
  const Lout = outputLength(L, K, p);
  const dw = new Float64Array(Cout * Cin * K);
  for (let n = 0; n < N; n++) {
    for (let co = 0; co < Cout; co++) {
      for (let lo = 0; lo < Lout; lo++) {
        const g = dy[(n * Cout + co) * Lout + lo];
        for (let ci = 0; ci < Cin; ci++) {
          for (let k = 0; k < K; k++) {
            const l = lo * p.stride - p.padding + k * p.dilation;
            if (l >= 0 && l < L) dw[(co * Cin + ci) * K + k] += g * x[(n * Cin + ci) * L + l];
          }
        }
      }
    }
  }
  return dw;
}

// src/engine/cpu/pool1d.ts
function outputLength2(L, p) {
  return Math.floor((L + 2 * p.padding - p.kernelSize) / p.stride) + 1;
}
function windowArgmax(x, rowStart, L, j, p) {
  let best = -Infinity;
  let arg = -1;
  for (let k = 0; k < p.kernelSize; k++) {
    const t = j * p.stride - p.padding + k;
    if (t < 0 || t >= L) continue;
    const v = x[rowStart + t];
    if (arg < 0 || v > best) {
      best = v;
      arg = t;
    }
  }
  return arg;
}
function maxPool1d(x, xShape, p) {
  const [N, C, L] = xShape;
  const Lout = outputLength2(L, p);
  const y = new Float64Array(N * C * Lout);
  for (let r = 0; r < N * C; r++) {
    for (let j = 0; j < Lout; j++) {
      const arg = windowArgmax(x, r * L, L, j, p);
      y[r * Lout + j] = arg < 0 ? -Infinity : x[r * L + arg];
    }
  }
  return y;
}
function maxPool1dBackward(x, dy, xShape, p) {
  const [N, C, L] = xShape;
  const Lout = outputLength2(L, p);
  const dx = new Float64Array(N * C * L);
  for (let r = 0; r < N * C; r++) {
    for (let j = 0; j < Lout; j++) {
      const arg = windowArgmax(x, r * L, L, j, p);
      if (arg >= 0) dx[r * L + arg] += dy[r * Lout + j];
    }
  }
  return dx;
}
function avgPool1d(x, xShape, p) {
  const [N, C, L] = xShape;
  const Lout = outputLength2(L, p);
  const y = new Float64Array(N * C * Lout);
  for (let r = 0; r < N * C; r++) {
    for (let j = 0; j < Lout; j++) {
      let sum2 = 0;
      for (let k = 0; k < p.kernelSize; k++) {
        const t = j * p.stride - p.padding + k;
        if (t >= 0 && t < L) sum2 += x[r * L + t];
      }
      y[r * Lout + j] = sum2 / p.kernelSize;
    }
  }
  return y;
}
function avgPool1dBackward(dy, xShape, p) {
  const [N, C, L] = xShape;
  const Lout = outputLength2(L, p);
  const dx = new Float64Array(N * C * L);
  for (let r = 0; r < N * C; r++) {
    for (let j = 0; j < Lout; j++) {
      for (let k = 0; k < p.kernelSize; k++) {
        const t = j * p.stride - p.padding + k;
        if (t >= 0 && t < L) dx[r * L + t] += dy[r * Lout + j] / p.kernelSize;
      }
    }
  }
  return dx;
}

// src/engine/cpu/gemm.ts
function gemm(a, b, o) {
  const { M, N, K } = o;
  const out = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        const av = o.transA ? a[k * M + m] : a[m * K + k];
        const bv = o.transB ? b[n * K + k] : b[k * N + n];
        s += av * bv;
      }
      if (o.bias) s += o.bias[n];
      if (o.activation === "relu") s = Math.max(s, 0);
      out[m * N + n] = s;
    }
  }
  return out;
}
function gemmBackward(a, b, dc, o) {
  const { M, N, K } = o;
  const da = o.transA ? gemm(b, dc, { M: K, N: M, K: N, transA: !!o.transB, transB: true }) : gemm(dc, b, { M, N: K, K: N, transB: !o.transB });
  const db = o.transB ? gemm(dc, a, { M: N, N: K, K: M, transA: true, transB: !!o.transA }) : gemm(a, dc, { M: K, N, K: M, transA: !o.transA });
  const dbias = new Float64Array(N);
  for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) dbias[n] += dc[m * N + n];
  return { da, db, dbias };
}

// src/engine/cpu/normalization.ts
function batchNormStats(x, shape) {
  const [N, C, L] = shape;
  const count = N * L;
  const mean2 = new Float64Array(C);
  const variance = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let sum2 = 0;
    for (let n = 0; n < N; n++) for (let l = 0; l < L; l++) sum2 += x[(n * C + c) * L + l];
    const m = sum2 / count;
    let squares = 0;
    for (let n = 0; n < N; n++) {
      for (let l = 0; l < L; l++) {
        const d2 = x[(n * C + c) * L + l] - m;
        squares += d2 * d2;
      }
    }
    mean2[c] = m;
    variance[c] = squares / count;
  }
  return { mean: mean2, variance };
}
function batchNormApply(x, shape, mean2, variance, gamma, beta, eps) {
  const [N, C, L] = shape;
  const y = new Float64Array(N * C * L);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const invStd = 1 / Math.sqrt(variance[c] + eps);
      for (let l = 0; l < L; l++) {
        const i = (n * C + c) * L + l;
        y[i] = (x[i] - mean2[c]) * invStd * gamma[c] + beta[c];
      }
    }
  }
  return y;
}
function batchNormBackward(x, dy, shape, mean2, variance, gamma, eps) {
  const [N, C, L] = shape;
  const M = N * L;
  const dx = new Float64Array(N * C * L);
  const dgamma = new Float64Array(C);
  const dbeta = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const invStd = 1 / Math.sqrt(variance[c] + eps);
    let sumDy = 0;
    let sumDyXhat = 0;
    for (let n = 0; n < N; n++) {
      for (let l = 0; l < L; l++) {
        const i = (n * C + c) * L + l;
        sumDy += dy[i];
        sumDyXhat += dy[i] * (x[i] - mean2[c]) * invStd;
      }
    }
    dbeta[c] = sumDy;
    dgamma[c] = sumDyXhat;
    const k = gamma[c] * invStd / M;
    for (let n = 0; n < N; n++) {
      for (let l = 0; l < L; l++) {
        const i = (n * C + c) * L + l;
        const xhat = (x[i] - mean2[c]) * invStd;
        dx[i] = k * (M * dy[i] - sumDy - xhat * sumDyXhat);
      }
    }
  }
  return { dx, dgamma, dbeta };
}

// src/engine/cpu/softmax.ts
function softmax(x, rows, cols) {
  const y = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let max = -Infinity;
    for (let j = 0; j < cols; j++) max = Math.max(max, x[o + j]);
    let sum2 = 0;
    for (let j = 0; j < cols; j++) sum2 += Math.exp(x[o + j] - max);
    for (let j = 0; j < cols; j++) y[o + j] = Math.exp(x[o + j] - max) / sum2;
  }
  return y;
}
function softmaxBackward(y, dy, rows, cols) {
  const dx = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += dy[o + j] * y[o + j];
    for (let j = 0; j < cols; j++) dx[o + j] = y[o + j] * (dy[o + j] - dot);
  }
  return dx;
}
function checkTargets(targets, rows, cols) {
  for (let r = 0; r < rows; r++) {
    const t = targets[r];
    if (!Number.isInteger(t) || t < 0 || t >= cols) throw new Error(`cross-entropy: target ${t} of row ${r} is outside [0, ${cols})`);
  }
}
function softmaxCrossEntropy(logits, targets, rows, cols, classWeights) {
  checkTargets(targets, rows, cols);
  const probs = softmax(logits, rows, cols);
  let weighted = 0;
  let weightSum = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let max = -Infinity;
    for (let j = 0; j < cols; j++) max = Math.max(max, logits[o + j]);
    let sum2 = 0;
    for (let j = 0; j < cols; j++) sum2 += Math.exp(logits[o + j] - max);
    const t = targets[r];
    const w = classWeights ? classWeights[t] : 1;
    weighted += w * (max + Math.log(sum2) - logits[o + t]);
    weightSum += w;
  }
  return { loss: Float64Array.of(weighted / weightSum), probs };
}
function softmaxCrossEntropyBackward(probs, targets, dloss, rows, cols, classWeights) {
  checkTargets(targets, rows, cols);
  let weightSum = 0;
  for (let r = 0; r < rows; r++) weightSum += classWeights ? classWeights[targets[r]] : 1;
  const dx = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const t = targets[r];
    const scale = dloss[0] * (classWeights ? classWeights[t] : 1) / weightSum;
    for (let j = 0; j < cols; j++) dx[r * cols + j] = scale * (probs[r * cols + j] - (j === t ? 1 : 0));
  }
  return dx;
}

// src/engine/cpu/optim.ts
function adamStep(param, grad, m, v, o) {
  const n = param.length;
  const out = { param: new Float64Array(n), m: new Float64Array(n), v: new Float64Array(n) };
  const correction1 = 1 - o.beta1 ** o.step;
  const correction2 = 1 - o.beta2 ** o.step;
  for (let i = 0; i < n; i++) {
    const g = grad[i];
    let p = param[i] - o.lr * o.weightDecay * param[i];
    const mi = o.beta1 * m[i] + (1 - o.beta1) * g;
    const vi = o.beta2 * v[i] + (1 - o.beta2) * g * g;
    p -= o.lr * (mi / correction1) / (Math.sqrt(vi / correction2) + o.eps);
    out.param[i] = p;
    out.m[i] = mi;
    out.v[i] = vi;
  }
  return out;
}
function hash32(x) {
  x = (x ^ x >>> 16) >>> 0;
  x = Math.imul(x, 2146121005) >>> 0;
  x = (x ^ x >>> 15) >>> 0;
  x = Math.imul(x, 2221713035) >>> 0;
  return (x ^ x >>> 16) >>> 0;
}
function dropoutMask(length, p, seed) {
  const mix = hash32((seed ^ 2654435769) >>> 0);
  const threshold = Math.fround(p);
  const scale = p < 1 ? Math.fround(1 / (1 - p)) : 0;
  const mask = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    const u = (hash32((hash32(i) ^ mix) >>> 0) >>> 8) / 16777216;
    mask[i] = u >= threshold ? scale : 0;
  }
  return mask;
}

// src/engine/cpu/storage.ts
var CpuStorage = class {
  constructor(data) {
    this.data = data;
  }
  data;
  get length() {
    return this.data.length;
  }
};
function cpuData(s) {
  if (!(s instanceof CpuStorage)) throw new Error("a WebGPU tensor was passed to a CPU kernel: tensors of different backends cannot be mixed");
  return s.data;
}

// src/engine/cpu/backend.ts
var wrap = (data) => new CpuStorage(Float32Array.from(data));
var d = cpuData;
var opt = (s) => s ? cpuData(s) : null;
var CpuBackend = class {
  name = "cpu";
  live = 0;
  liveBytes = 0;
  upload(data) {
    return this.track(new CpuStorage(Float32Array.from(data)));
  }
  uploadIndices(data) {
    return this.track(new CpuStorage(Int32Array.from(data)));
  }
  zeros(length) {
    return this.track(new CpuStorage(new Float32Array(length)));
  }
  fill(length, value) {
    return this.track(new CpuStorage(new Float32Array(length).fill(value)));
  }
  async download(s) {
    return Float32Array.from(d(s));
  }
  write(s, data) {
    d(s).set(data);
  }
  release(s) {
    this.live--;
    this.liveBytes -= s.length * 4;
  }
  counters() {
    return { liveBuffers: this.live, liveBytes: this.liveBytes, allocatedBuffers: this.live, allocatedBytes: this.liveBytes };
  }
  flush() {
  }
  unary(op, x) {
    return this.out(unary(op, d(x)));
  }
  unaryBackward(op, x, y, dy) {
    return this.out(unaryBackward(op, d(x), d(y), d(dy)));
  }
  binary(op, a, aShape, b, bShape, outShape) {
    return this.out(binary(op, d(a), aShape, d(b), bShape, outShape));
  }
  affine(x, alpha, beta) {
    return this.out(affine(d(x), alpha, beta));
  }
  accumulate(acc, x) {
    d(acc).set(accumulate(d(acc), d(x)));
  }
  sumTo(x, shape, outShape) {
    return this.out(sumTo(d(x), shape, outShape));
  }
  broadcastTo(x, shape, outShape) {
    return this.out(broadcastTo(d(x), shape, outShape));
  }
  concat(inputs, shapes, axis) {
    return this.out(concat(inputs.map(d), shapes, axis));
  }
  slice(x, shape, axis, start, length) {
    return this.out(slice(d(x), shape, axis, start, length));
  }
  conv1d(x, xShape, w, wShape, bias, p) {
    return this.out(conv1d(d(x), xShape, d(w), wShape, opt(bias), p));
  }
  conv1dBackwardInput(dy, w, xShape, wShape, p) {
    return this.out(conv1dBackwardInput(d(dy), d(w), xShape, wShape, p));
  }
  conv1dBackwardWeight(dy, x, xShape, wShape, p) {
    return this.out(conv1dBackwardWeight(d(dy), d(x), xShape, wShape, p));
  }
  maxPool1d(x, xShape, p) {
    return this.out(maxPool1d(d(x), xShape, p));
  }
  maxPool1dBackward(x, dy, xShape, p) {
    return this.out(maxPool1dBackward(d(x), d(dy), xShape, p));
  }
  avgPool1d(x, xShape, p) {
    return this.out(avgPool1d(d(x), xShape, p));
  }
  avgPool1dBackward(dy, xShape, p) {
    return this.out(avgPool1dBackward(d(dy), xShape, p));
  }
  gemm(a, b, o) {
    return this.out(gemm(d(a), d(b), { ...o, bias: opt(o.bias) }));
  }
  batchNormStats(x, shape) {
    const s = batchNormStats(d(x), shape);
    return { mean: this.out(s.mean), variance: this.out(s.variance) };
  }
  batchNormApply(x, shape, mean2, variance, gamma, beta, eps) {
    return this.out(batchNormApply(d(x), shape, d(mean2), d(variance), d(gamma), d(beta), eps));
  }
  batchNormBackward(x, dy, shape, mean2, variance, gamma, eps) {
    const g = batchNormBackward(d(x), d(dy), shape, d(mean2), d(variance), d(gamma), eps);
    return { dx: this.out(g.dx), dgamma: this.out(g.dgamma), dbeta: this.out(g.dbeta) };
  }
  dropoutMask(length, p, seed) {
    return this.out(dropoutMask(length, p, seed));
  }
  softmax(x, rows, cols) {
    return this.out(softmax(d(x), rows, cols));
  }
  softmaxBackward(y, dy, rows, cols) {
    return this.out(softmaxBackward(d(y), d(dy), rows, cols));
  }
  softmaxCrossEntropy(logits, targets, rows, cols, classWeights) {
    const r = softmaxCrossEntropy(d(logits), d(targets), rows, cols, opt(classWeights));
    return { loss: this.out(r.loss), probs: this.out(r.probs) };
  }
  softmaxCrossEntropyBackward(probs, targets, dloss, rows, cols, classWeights) {
    return this.out(softmaxCrossEntropyBackward(d(probs), d(targets), d(dloss), rows, cols, opt(classWeights)));
  }
  adamStep(param, grad, m, v, o) {
    const r = adamStep(d(param), d(grad), d(m), d(v), o);
    d(param).set(r.param);
    d(m).set(r.m);
    d(v).set(r.v);
  }
  out(data) {
    return this.track(wrap(data));
  }
  track(s) {
    this.live++;
    this.liveBytes += s.length * 4;
    return s;
  }
};

// src/engine/device.ts
var NO_ADAPTER_HELP = "No WebGPU adapter was found. On Linux without a GPU, run scripts/setup.sh: it installs Mesa's lavapipe (CPU Vulkan driver, mesa-vulkan-drivers >= 25 from bookworm-backports) that Dawn finds by itself. In a browser, WebGPU must be enabled (Chrome/Edge 113+, or chromium --enable-unsafe-webgpu).";
async function navigatorGpu() {
  const nav = globalThis.navigator;
  if (nav?.gpu) return nav.gpu;
  if (typeof process === "undefined" || !process.versions?.node) {
    throw new Error("This browser has no WebGPU (navigator.gpu is missing). " + NO_ADAPTER_HELP);
  }
  const moduleName = "webgpu";
  const dawn = await import(
    /* @vite-ignore */
    moduleName
  );
  Object.assign(globalThis, dawn.globals);
  dawnInstance ??= dawn.create([]);
  return dawnInstance;
}
var dawnInstance;
function wantedLimits(adapter) {
  const names = [
    "maxStorageBufferBindingSize",
    "maxBufferSize",
    "maxComputeWorkgroupStorageSize",
    "maxComputeInvocationsPerWorkgroup",
    "maxComputeWorkgroupSizeX",
    "maxComputeWorkgroupSizeY",
    "maxStorageBuffersPerShaderStage"
  ];
  const limits = {};
  for (const name of names) limits[name] = adapter.limits[name];
  return limits;
}
async function requestGpuDevice() {
  const gpu = await navigatorGpu();
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) throw new Error(NO_ADAPTER_HELP);
  const hasTimestamps = adapter.features.has("timestamp-query");
  const device = await adapter.requestDevice({
    requiredLimits: wantedLimits(adapter),
    requiredFeatures: hasTimestamps ? ["timestamp-query"] : []
  });
  device.lost.then((info2) => {
    if (info2.reason !== "destroyed") console.error(`ser-webgpu: WebGPU device lost: ${info2.message}`);
  });
  const info = adapter.info;
  return {
    device,
    hasTimestamps,
    adapter: {
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
      features: [...adapter.features].sort()
    }
  };
}

// src/engine/buffer-pool.ts
function bucketBytes(bytes) {
  const min = 256;
  if (bytes <= min) return min;
  const pow = 2 ** Math.ceil(Math.log2(bytes));
  const quarter = pow / 8;
  return Math.ceil(bytes / quarter) * quarter;
}
var BufferPool = class {
  constructor(device, usage) {
    this.device = device;
    this.usage = usage;
  }
  device;
  usage;
  free = /* @__PURE__ */ new Map();
  pending = [];
  live = /* @__PURE__ */ new Set();
  counters = { liveBuffers: 0, liveBytes: 0, allocatedBuffers: 0, allocatedBytes: 0 };
  acquire(bytes, label) {
    const size2 = bucketBytes(bytes);
    const reused = this.free.get(size2)?.pop();
    const buffer = reused ?? this.create(size2, label);
    this.live.add(buffer);
    this.counters.liveBuffers++;
    this.counters.liveBytes += size2;
    return buffer;
  }
  release(buffer) {
    if (!this.live.delete(buffer)) throw new Error(`buffer "${buffer.label}" released twice or not from this pool`);
    this.counters.liveBuffers--;
    this.counters.liveBytes -= buffer.size;
    this.pending.push(buffer);
  }
  /** Called by the runtime after each queue submit: pending releases may now be overwritten safely. */
  afterSubmit() {
    for (const buffer of this.pending) {
      const list = this.free.get(buffer.size) ?? [];
      list.push(buffer);
      this.free.set(buffer.size, list);
    }
    this.pending = [];
  }
  /** Destroys the pooled (not live) buffers, e.g. after a large one-off computation. */
  trim() {
    for (const list of this.free.values()) {
      for (const buffer of list) {
        this.counters.allocatedBuffers--;
        this.counters.allocatedBytes -= buffer.size;
        buffer.destroy();
      }
    }
    this.free.clear();
  }
  stats() {
    return { ...this.counters };
  }
  create(size2, label) {
    const buffer = this.device.createBuffer({ size: size2, usage: this.usage, label });
    this.counters.allocatedBuffers++;
    this.counters.allocatedBytes += size2;
    return buffer;
  }
};

// src/engine/profiler.ts
var CAPACITY = 512;
var Profiler = class {
  constructor(device) {
    this.device = device;
    this.querySet = device.createQuerySet({ type: "timestamp", count: CAPACITY * 2 });
    this.resolveBuffer = device.createBuffer({
      size: CAPACITY * 16,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC
    });
  }
  device;
  querySet;
  resolveBuffer;
  readBuffers = [];
  labels = [];
  inFlight = [];
  totals = /* @__PURE__ */ new Map();
  timestampWrites(kernel) {
    const pair = this.labels.length;
    this.labels.push(kernel);
    return { querySet: this.querySet, beginningOfPassWriteIndex: pair * 2, endOfPassWriteIndex: pair * 2 + 1 };
  }
  full() {
    return this.labels.length >= CAPACITY;
  }
  /** Records the copy of this batch's timestamps into a mappable buffer. */
  resolve(encoder) {
    if (this.labels.length === 0) return;
    const bytes = this.labels.length * 16;
    encoder.resolveQuerySet(this.querySet, 0, this.labels.length * 2, this.resolveBuffer, 0);
    const read = this.readBuffers.pop() ?? this.device.createBuffer({ size: CAPACITY * 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    encoder.copyBufferToBuffer(this.resolveBuffer, 0, read, 0, bytes);
    const labels = this.labels;
    this.labels = [];
    this.pendingRead = { read, labels };
  }
  pendingRead = null;
  afterSubmit() {
    if (!this.pendingRead) return;
    const { read, labels } = this.pendingRead;
    this.pendingRead = null;
    this.inFlight.push(
      read.mapAsync(GPUMapMode.READ).then(() => {
        const stamps = new BigUint64Array(read.getMappedRange(0, labels.length * 16));
        labels.forEach((kernel, i) => {
          const ns = Number(stamps[2 * i + 1] - stamps[2 * i]);
          const t = this.totals.get(kernel) ?? { calls: 0, ns: 0 };
          t.calls++;
          t.ns += Math.max(0, ns);
          this.totals.set(kernel, t);
        });
        read.unmap();
        this.readBuffers.push(read);
      })
    );
  }
  /** Per-kernel totals since the last reset, largest first. Call after the workload's last sync. */
  async table() {
    await Promise.all(this.inFlight);
    this.inFlight = [];
    const totalNs = [...this.totals.values()].reduce((s, t) => s + t.ns, 0) || 1;
    return [...this.totals.entries()].map(([kernel, t]) => ({ kernel, calls: t.calls, ms: t.ns / 1e6, share: t.ns / totalNs })).sort((a, b) => b.ms - a.ms);
  }
  reset() {
    this.totals.clear();
  }
};

// src/engine/runtime.ts
var Params = class {
  words = [];
  kinds = [];
  u32(...values) {
    for (const v of values) this.push("u", v);
    return this;
  }
  i32(...values) {
    for (const v of values) this.push("i", v);
    return this;
  }
  f32(...values) {
    for (const v of values) this.push("f", v);
    return this;
  }
  bytes() {
    const size2 = Math.max(16, Math.ceil(this.words.length * 4 / 16) * 16);
    const view = new DataView(new ArrayBuffer(size2));
    this.words.forEach((v, i) => {
      const kind = this.kinds[i];
      if (kind === "f") view.setFloat32(i * 4, v, true);
      else if (kind === "i") view.setInt32(i * 4, v, true);
      else view.setUint32(i * 4, v, true);
    });
    return view.buffer;
  }
  push(kind, v) {
    if (kind !== "f" && !Number.isInteger(v)) throw new Error(`uniform field ${this.words.length} must be an integer, got ${v}`);
    this.words.push(v);
    this.kinds.push(kind);
  }
};
var GpuError = class extends Error {
};
function grid1d(n, size2) {
  const groups = Math.max(1, Math.ceil(n / size2));
  const max = 65535;
  if (groups <= max) return [groups, 1];
  const y = Math.ceil(groups / max);
  return [Math.ceil(groups / y), y];
}
var STORAGE_USAGE = 128 | 4 | 8;
var UNIFORM_USAGE = 64 | 8;
var READ_USAGE = 1 | 8;
var MAX_DISPATCHES_PER_SUBMIT = 256;
var GpuRuntime = class {
  constructor(gpu) {
    this.gpu = gpu;
    this.device = gpu.device;
    this.storage = new BufferPool(this.device, STORAGE_USAGE);
    this.uniforms = new BufferPool(this.device, UNIFORM_USAGE);
    this.staging = new BufferPool(this.device, READ_USAGE);
  }
  gpu;
  device;
  storage;
  uniforms;
  staging;
  pipelines = /* @__PURE__ */ new Map();
  modules = /* @__PURE__ */ new Map();
  encoder = null;
  recorded = 0;
  errors = [];
  batchLabel = "";
  profiler = null;
  counters() {
    return this.storage.stats();
  }
  /** Enables per-dispatch GPU timestamps (needs the adapter's 'timestamp-query'). */
  enableProfiler() {
    if (!this.gpu.hasTimestamps) throw new Error("this adapter has no timestamp-query: the profiler cannot run");
    this.flush();
    this.profiler ??= new Profiler(this.device);
    return this.profiler;
  }
  allocate(bytes, label) {
    return this.storage.acquire(Math.max(4, bytes), label);
  }
  release(buffer) {
    this.storage.release(buffer);
  }
  upload(data, label) {
    const buffer = this.allocate(data.byteLength, label);
    this.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    return buffer;
  }
  /** Zeroes the first `bytes` of a buffer, in order with the recorded dispatches. */
  clear(buffer, bytes) {
    this.begin("clear").clearBuffer(buffer, 0, Math.ceil(bytes / 4) * 4);
  }
  copy(src, dst, bytes) {
    this.begin("copy").copyBufferToBuffer(src, 0, dst, 0, Math.ceil(bytes / 4) * 4);
  }
  dispatch(call) {
    const label = call.shapes ? `${call.kernel} ${call.shapes}` : call.kernel;
    const encoder = this.begin(label);
    const pipeline = this.pipeline(call);
    let uniform = null;
    const entries = call.buffers.map((buffer, i) => ({ binding: i + 1, resource: { buffer } }));
    if (call.params) {
      const bytes = call.params.bytes();
      uniform = this.uniforms.acquire(bytes.byteLength, "params");
      this.device.queue.writeBuffer(uniform, 0, bytes);
      entries.unshift({ binding: 0, resource: { buffer: uniform } });
    }
    const bindGroup = this.device.createBindGroup({ label, layout: pipeline.getBindGroupLayout(0), entries });
    const pass = encoder.beginComputePass({ label, timestampWrites: this.profiler?.timestampWrites(call.kernel) });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    const [x, y = 1, z = 1] = call.workgroups;
    pass.dispatchWorkgroups(x, y, z);
    pass.end();
    if (uniform) this.uniforms.release(uniform);
    if (++this.recorded >= MAX_DISPATCHES_PER_SUBMIT || this.profiler?.full()) this.flush();
  }
  /** Submits what is recorded. Errors raised by it are thrown by the next `sync()`. */
  flush() {
    if (!this.encoder) return;
    const encoder = this.encoder;
    this.encoder = null;
    this.recorded = 0;
    this.profiler?.resolve(encoder);
    this.device.queue.submit([encoder.finish({ label: this.batchLabel })]);
    this.errors.push(this.device.popErrorScope(), this.device.popErrorScope());
    this.storage.afterSubmit();
    this.uniforms.afterSubmit();
    this.staging.afterSubmit();
    this.profiler?.afterSubmit();
  }
  /** Waits for the queue and throws the first WebGPU error raised since the last sync. */
  async sync() {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    await this.throwErrors();
  }
  async read(buffer, bytes) {
    const size2 = Math.ceil(bytes / 4) * 4;
    const staging = this.staging.acquire(size2, "readback");
    this.begin("readback").copyBufferToBuffer(buffer, 0, staging, 0, size2);
    this.flush();
    await this.throwErrors();
    await staging.mapAsync(GPUMapMode.READ, 0, size2);
    const copy = staging.getMappedRange(0, size2).slice(0);
    staging.unmap();
    this.staging.release(staging);
    return copy.byteLength === bytes ? copy : copy.slice(0, bytes);
  }
  async throwErrors() {
    const pending = this.errors;
    this.errors = [];
    const first = (await Promise.all(pending)).find((e) => e);
    if (first) throw new GpuError(`WebGPU ${first.constructor.name}: ${first.message}`);
  }
  begin(label) {
    if (!this.encoder) {
      this.device.pushErrorScope("validation");
      this.device.pushErrorScope("out-of-memory");
      this.encoder = this.device.createCommandEncoder({ label });
      this.batchLabel = `batch from ${label}`;
    }
    return this.encoder;
  }
  pipeline(call) {
    const entryPoint = call.entryPoint ?? "main";
    const constants = call.constants ?? {};
    const key = `${call.kernel}|${entryPoint}|${JSON.stringify(constants)}|${call.shader.length}`;
    let pipeline = this.pipelines.get(key);
    if (pipeline) return pipeline;
    let module = this.modules.get(call.shader);
    if (!module) {
      module = this.device.createShaderModule({ code: call.shader, label: call.kernel });
      this.modules.set(call.shader, module);
    }
    pipeline = this.device.createComputePipeline({
      label: `${call.kernel}:${entryPoint}`,
      layout: "auto",
      compute: { module, entryPoint, constants }
    });
    this.pipelines.set(key, pipeline);
    return pipeline;
  }
};

// shaders/conv1d-forward.wgsl
var conv1d_forward_default = "// conv1d forward: y[n, co, lo] = bias[co] + \u03A3_ci \u03A3_k w[co, ci, k] \xB7 x[n, ci, lo\xB7stride \u2212 padding + k\xB7dilation]\n// x [N, Cin, L], w [Cout, Cin, K], y [N, Cout, Lout]; x is zero outside [0, L).\n//\n// An implicit GEMM (Cout \xD7 N\xB7Lout, reduced over Cin\xB7K) whose input operand is read through a sliding window.\n// With g = gcd(stride, dilation), tapPhases = stride/g and spacing = dilation/g, output lo + spacing at tap\n// k \u2212 tapPhases reads the same input as output lo at tap k. So one invocation takes TILE_L outputs spaced by\n// `spacing` (lo_j = lo_0 + spacing\xB7j) and walks the taps of one phase b (k = b + tapPhases\xB7a): the TILE_L inputs\n// of step a + 1 are those of step a shifted by one slot plus a single new load. Per step that is one input load and\n// TILE_CO weight loads for TILE_CO\xB7TILE_L FMAs; on CPU drivers (lavapipe), where every storage load is a gather\n// costing about ten FMAs, this ratio is what sets the speed.\n//\n// Invocations are numbered t = residue + spacing\xB7group over workgroup x (residue < spacing, group < groups);\n// workgroup y is the block of TILE_CO output channels, z the sample. No workgroup memory, no barriers.\n\noverride WG: u32 = 64;\noverride TILE_CO: u32 = 8; // at most 16\noverride TILE_L: u32 = 16; // at most 32\n\nstruct Params {\n  cin: u32,\n  length: u32,\n  cout: u32,\n  kernel: u32,\n  lout: u32,\n  stride: u32,\n  padding: u32,\n  dilation: u32,\n  tapPhases: u32, // stride / gcd(stride, dilation)\n  spacing: u32, // dilation / gcd(stride, dilation)\n  step: u32, // lcm(stride, dilation): input distance between neighbouring window slots\n  groups: u32, // ceil(ceil(Lout / spacing) / TILE_L)\n  hasBias: u32,\n}\n\n@group(0) @binding(0) var<uniform> params: Params;\n@group(0) @binding(1) var<storage, read> x: array<f32>;\n@group(0) @binding(2) var<storage, read> w: array<f32>;\n// Without a bias the caller binds w here again (read-only aliasing is allowed) and sets hasBias = 0.\n@group(0) @binding(3) var<storage, read> bias: array<f32>;\n@group(0) @binding(4) var<storage, read_write> y: array<f32>;\n\nfn input(row: u32, position: i32) -> f32 {\n  let inside = position >= 0 && position < i32(params.length);\n  return select(0.0, x[row + u32(clamp(position, 0, i32(params.length) - 1))], inside);\n}\n\n@compute @workgroup_size(WG)\nfn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {\n  let t = wid.x * WG + lid.x;\n  if (t >= params.spacing * params.groups) {\n    return;\n  }\n  let n = wid.z;\n  let coBase = wid.y * TILE_CO;\n  let K = params.kernel;\n  let phases = params.tapPhases;\n  let step = i32(params.step);\n  let lo0 = t % params.spacing + params.spacing * (t / params.spacing) * TILE_L;\n\n  // Channels past Cout (a partial last block) read channel Cout\u22121 and are never stored.\n  var wRow: array<u32, 16>;\n  var acc: array<f32, 512>; // acc[i\xB7TILE_L + j]: channel coBase + i, output lo0 + spacing\xB7j\n  for (var i = 0u; i < TILE_CO; i++) {\n    let co = min(coBase + i, params.cout - 1u);\n    wRow[i] = co * params.cin * K;\n    let b = select(0.0, bias[co], params.hasBias != 0u);\n    for (var j = 0u; j < TILE_L; j++) {\n      acc[i * TILE_L + j] = b;\n    }\n  }\n\n  var window: array<f32, 32>;\n  for (var ci = 0u; ci < params.cin; ci++) {\n    let xRow = (n * params.cin + ci) * params.length;\n    for (var b = 0u; b < min(phases, K); b++) {\n      let taps = (K - b + phases - 1u) / phases;\n      // Input of output j at tap b + phases\xB7a: origin + step\xB7(j + a).\n      let origin = i32(lo0 * params.stride + b * params.dilation) - i32(params.padding);\n      for (var j = 0u; j < TILE_L; j++) {\n        window[j] = input(xRow, origin + step * i32(j));\n      }\n      for (var a = 0u; a < taps; a++) {\n        let k = ci * K + b + phases * a;\n        for (var i = 0u; i < TILE_CO; i++) {\n          let wv = w[wRow[i] + k];\n          for (var j = 0u; j < TILE_L; j++) {\n            acc[i * TILE_L + j] = fma(wv, window[j], acc[i * TILE_L + j]);\n          }\n        }\n        for (var j = 0u; j + 1u < TILE_L; j++) {\n          window[j] = window[j + 1u];\n        }\n        window[TILE_L - 1u] = input(xRow, origin + step * i32(TILE_L + a));\n      }\n    }\n  }\n\n  for (var i = 0u; i < TILE_CO; i++) {\n    let co = coBase + i;\n    if (co >= params.cout) {\n      break;\n    }\n    let yRow = (n * params.cout + co) * params.lout;\n    for (var j = 0u; j < TILE_L; j++) {\n      let lo = lo0 + params.spacing * j;\n      if (lo < params.lout) {\n        y[yRow + lo] = acc[i * TILE_L + j];\n      }\n    }\n  }\n}\n";

// shaders/conv1d-backward-input.wgsl
var conv1d_backward_input_default = "// conv1d backward with respect to the input, gathered per output (no atomics):\n//   dx[n, ci, l] = \u03A3_co \u03A3_k w[co, ci, k] \xB7 dy[n, co, lo]   over the (k, lo) with lo\xB7stride \u2212 padding + k\xB7dilation = l,\n//   i.e. lo = (l + padding \u2212 k\xB7dilation) / stride where that divides exactly and 0 \u2264 lo < Lout.\n// dy [N, Cout, Lout], w [Cout, Cin, K], dx [N, Cin, L].\n//\n// Positions are split into `stride` phases (l mod stride): within one phase the same taps k divide exactly, and\n// consecutive positions of the phase read consecutive lo. One invocation keeps TILE_CI input channels \xD7 TILE_L\n// positions of one phase (l = (q + j\xB7WG)\xB7stride + phase) in registers. Workgroups: x over blocks of WG\xB7TILE_L\n// phase positions q, y over (channel block, phase) as block\xB7stride + phase, z over the batch.\n\noverride WG: u32 = 64;\nconst TILE_CI: u32 = 4u;\nconst TILE_L: u32 = 4u;\n\nstruct Params {\n  cin: u32,\n  length: u32,\n  cout: u32,\n  kernel: u32,\n  lout: u32,\n  stride: u32,\n  padding: u32,\n  dilation: u32,\n  phaseLength: u32, // ceil(L / stride): positions q per phase\n}\n\n@group(0) @binding(0) var<uniform> params: Params;\n@group(0) @binding(1) var<storage, read> dy: array<f32>;\n@group(0) @binding(2) var<storage, read> w: array<f32>;\n@group(0) @binding(3) var<storage, read_write> dx: array<f32>;\n\n@compute @workgroup_size(WG)\nfn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {\n  let n = wid.z;\n  let stride = params.stride;\n  let phase = wid.y % stride;\n  let ciBase = (wid.y / stride) * TILE_CI;\n  let blockStart = wid.x * WG * TILE_L;\n  let q0 = blockStart + lid.x;\n  let K = params.kernel;\n  let lout = i32(params.lout);\n\n  // Channels past Cin (a partial last block) read channel Cin\u22121 and are never stored.\n  var wCol: array<u32, TILE_CI>;\n  for (var i = 0u; i < TILE_CI; i++) {\n    wCol[i] = min(ciBase + i, params.cin - 1u) * K;\n  }\n  // Phase positions past the end repeat the last one (not stored).\n  var q: array<i32, TILE_L>;\n  for (var j = 0u; j < TILE_L; j++) {\n    q[j] = i32(min(q0 + j * WG, params.phaseLength - 1u));\n  }\n  let qFirst = i32(blockStart);\n  let qLast = i32(min(blockStart + WG * TILE_L, params.phaseLength) - 1u);\n\n  var acc: array<array<f32, TILE_L>, TILE_CI>;\n  for (var k = 0u; k < K; k++) {\n    let t = i32(phase + params.padding) - i32(k * params.dilation);\n    if (t % i32(stride) != 0) {\n      continue;\n    }\n    let offset = t / i32(stride);\n    // Every lane of the block reads inside [0, Lout): no bounds checks for this tap.\n    let interior = qFirst + offset >= 0 && qLast + offset < lout;\n    for (var co = 0u; co < params.cout; co++) {\n      let dyRow = (n * params.cout + co) * params.lout;\n      var g: array<f32, TILE_L>;\n      if (interior) {\n        for (var j = 0u; j < TILE_L; j++) {\n          g[j] = dy[dyRow + u32(q[j] + offset)];\n        }\n      } else {\n        for (var j = 0u; j < TILE_L; j++) {\n          let lo = q[j] + offset;\n          g[j] = select(0.0, dy[dyRow + u32(clamp(lo, 0, lout - 1))], lo >= 0 && lo < lout);\n        }\n      }\n      let wRow = co * params.cin * K + k;\n      for (var i = 0u; i < TILE_CI; i++) {\n        let wv = w[wRow + wCol[i]];\n        for (var j = 0u; j < TILE_L; j++) {\n          acc[i][j] = fma(wv, g[j], acc[i][j]);\n        }\n      }\n    }\n  }\n\n  for (var i = 0u; i < TILE_CI; i++) {\n    let ci = ciBase + i;\n    if (ci >= params.cin) {\n      break;\n    }\n    let dxRow = (n * params.cin + ci) * params.length;\n    for (var j = 0u; j < TILE_L; j++) {\n      let l = (q0 + j * WG) * stride + phase;\n      if (q0 + j * WG < params.phaseLength && l < params.length) {\n        dx[dxRow + l] = acc[i][j];\n      }\n    }\n  }\n}\n";

// shaders/conv1d-backward-weight.wgsl
var conv1d_backward_weight_default = "// conv1d backward with respect to the weight, a GEMM of Cout \xD7 (Cin\xB7K) reduced over N\xB7Lout:\n//   dw[co, ci, k] = \u03A3_n \u03A3_lo dy[n, co, lo] \xB7 x[n, ci, lo\xB7stride \u2212 padding + k\xB7dilation]   (zero outside [0, L))\n// dy [N, Cout, Lout], x [N, Cin, L], dw [Cout, Cin, K].\n//\n// The N\xB7Lout reduction is cut into chunks (a range of lo inside one sample); `partial` computes every chunk's sum\n// into partials [chunks, Cout, Cin\xB7K] and `reduce` adds them up in a fixed order (deterministic, no float atomics).\n// With a single chunk `partial` writes dw directly.\n// In `partial` one invocation keeps TILE_CO output channels \xD7 TILE_COL columns (ci, k) in registers; the tiles\n// (channel tile, column tile) are numbered linearly over workgroup x (no idle lanes when Cin\xB7K is small), and\n// workgroup y is the chunk.\n\noverride WG: u32 = 64;\nconst TILE_CO: u32 = 4u;\nconst TILE_COL: u32 = 4u;\n\nstruct Params {\n  cin: u32,\n  length: u32,\n  cout: u32,\n  kernel: u32,\n  lout: u32,\n  stride: u32,\n  padding: u32,\n  dilation: u32,\n  chunkLength: u32, // positions lo per chunk\n  chunksPerSample: u32,\n  colTiles: u32, // ceil(Cin\xB7K / TILE_COL)\n  coTiles: u32, // ceil(Cout / TILE_CO)\n}\n\n@group(0) @binding(0) var<uniform> params: Params;\n@group(0) @binding(1) var<storage, read> dy: array<f32>;\n@group(0) @binding(2) var<storage, read> x: array<f32>;\n@group(0) @binding(3) var<storage, read_write> partials: array<f32>;\n\n@compute @workgroup_size(WG)\nfn partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {\n  let tile = wid.x * WG + lid.x;\n  if (tile >= params.colTiles * params.coTiles) {\n    return;\n  }\n  let chunk = wid.y;\n  let n = chunk / params.chunksPerSample;\n  let loStart = (chunk % params.chunksPerSample) * params.chunkLength;\n  let loEnd = min(loStart + params.chunkLength, params.lout);\n  let coBase = (tile / params.colTiles) * TILE_CO;\n  let colBase = (tile % params.colTiles) * TILE_COL;\n  let columns = params.cin * params.kernel;\n  let L = i32(params.length);\n  let stride = i32(params.stride);\n\n  // Out-of-range channels and columns (partial last tiles) read the last valid one and are never stored.\n  var dyRow: array<u32, TILE_CO>;\n  for (var i = 0u; i < TILE_CO; i++) {\n    dyRow[i] = (n * params.cout + min(coBase + i, params.cout - 1u)) * params.lout;\n  }\n  var xRow: array<u32, TILE_COL>;\n  var tap: array<i32, TILE_COL>;\n  for (var j = 0u; j < TILE_COL; j++) {\n    let col = min(colBase + j, columns - 1u);\n    let ci = col / params.kernel;\n    let k = col % params.kernel;\n    xRow[j] = (n * params.cin + ci) * params.length;\n    tap[j] = i32(k * params.dilation) - i32(params.padding);\n  }\n\n  // The chunk's receptive field inside [0, L) (the same for the whole workgroup) skips the bounds checks.\n  let first = i32(loStart) * stride - i32(params.padding);\n  let last = i32(loEnd - 1u) * stride - i32(params.padding) + i32((params.kernel - 1u) * params.dilation);\n  let interior = first >= 0 && last < L;\n\n  var acc: array<array<f32, TILE_COL>, TILE_CO>;\n  for (var lo = loStart; lo < loEnd; lo++) {\n    let origin = i32(lo) * stride;\n    var xv: array<f32, TILE_COL>;\n    if (interior) {\n      for (var j = 0u; j < TILE_COL; j++) {\n        xv[j] = x[xRow[j] + u32(origin + tap[j])];\n      }\n    } else {\n      for (var j = 0u; j < TILE_COL; j++) {\n        let p = origin + tap[j];\n        xv[j] = select(0.0, x[xRow[j] + u32(clamp(p, 0, L - 1))], p >= 0 && p < L);\n      }\n    }\n    for (var i = 0u; i < TILE_CO; i++) {\n      let g = dy[dyRow[i] + lo];\n      for (var j = 0u; j < TILE_COL; j++) {\n        acc[i][j] = fma(g, xv[j], acc[i][j]);\n      }\n    }\n  }\n\n  let out = chunk * params.cout * columns;\n  for (var i = 0u; i < TILE_CO; i++) {\n    let co = coBase + i;\n    if (co >= params.cout) {\n      break;\n    }\n    for (var j = 0u; j < TILE_COL; j++) {\n      let col = colBase + j;\n      if (col < columns) {\n        partials[out + co * columns + col] = acc[i][j];\n      }\n    }\n  }\n}\n\nstruct ReduceParams {\n  count: u32, // Cout\xB7Cin\xB7K\n  chunks: u32,\n  rowWidth: u32, // threads per row of the 2-D grid (grid1d's fold)\n}\n\n@group(0) @binding(0) var<uniform> reduceParams: ReduceParams;\n@group(0) @binding(1) var<storage, read> chunkSums: array<f32>;\n@group(0) @binding(2) var<storage, read_write> dw: array<f32>;\n\n@compute @workgroup_size(WG)\nfn reduce(@builtin(global_invocation_id) gid: vec3<u32>) {\n  let i = gid.x + gid.y * reduceParams.rowWidth;\n  if (i >= reduceParams.count) {\n    return;\n  }\n  var sum = 0.0;\n  for (var c = 0u; c < reduceParams.chunks; c++) {\n    sum += chunkSums[i + c * reduceParams.count];\n  }\n  dw[i] = sum;\n}\n";

// src/kernels/storage.ts
var GpuStorage = class {
  constructor(buffer, length) {
    this.buffer = buffer;
    this.length = length;
  }
  buffer;
  length;
};
function allocate(rt, length, label) {
  return new GpuStorage(rt.allocate(length * 4, label), length);
}
function gpuStorage(s) {
  if (!(s instanceof GpuStorage)) throw new Error("a CPU tensor was passed to a WebGPU kernel: tensors of different backends cannot be mixed");
  return s;
}

// src/kernels/conv1d.ts
var TILE = 4;
var WG = 64;
var MAX_GROUPS = 65535;
var TARGET_WORKGROUPS = 256;
var MIN_CHUNK = 256;
function geometry(xShape, wShape, p) {
  const [N, Cin, L] = xShape;
  const [Cout, , K] = wShape;
  const Lout = Math.floor((L + 2 * p.padding - p.dilation * (K - 1) - 1) / p.stride) + 1;
  return { N, Cin, L, Cout, K, Lout };
}
function describe(g, p) {
  return `x[${g.N},${g.Cin},${g.L}] w[${g.Cout},${g.Cin},${g.K}] y[${g.N},${g.Cout},${g.Lout}] stride ${p.stride} padding ${p.padding} dilation ${p.dilation}`;
}
function checkGrid(kernel, groups, shapes) {
  if (groups.some((n) => n > MAX_GROUPS)) {
    throw new Error(`${kernel}: ${shapes} needs workgroups [${groups.join(", ")}], more than ${MAX_GROUPS} in one dimension`);
  }
  return [groups[0], groups[1], groups[2]];
}
function shapeParams(g, p) {
  return new Params().u32(g.Cin, g.L, g.Cout, g.K, g.Lout, p.stride, p.padding, p.dilation);
}
function gcd(a, b) {
  return b === 0 ? a : gcd(b, a % b);
}
function conv1d2(rt, x, xShape, w, wShape, bias, p, tile = { co: 4, l: 16 }) {
  const g = geometry(xShape, wShape, p);
  const shapes = describe(g, p);
  const y = allocate(rt, g.N * g.Cout * g.Lout, "conv1d.y");
  const wBuffer = gpuStorage(w).buffer;
  const common = gcd(p.stride, p.dilation);
  const spacing = p.dilation / common;
  const groups = Math.ceil(Math.ceil(g.Lout / spacing) / tile.l);
  rt.dispatch({
    kernel: "conv1d.forward",
    shapes,
    shader: conv1d_forward_default,
    constants: { WG, TILE_CO: tile.co, TILE_L: tile.l },
    params: shapeParams(g, p).u32(p.stride / common, spacing, p.stride * p.dilation / common, groups, bias ? 1 : 0),
    // Without a bias, w is bound a second time in its place (read-only aliasing is allowed); the shader ignores it.
    buffers: [gpuStorage(x).buffer, wBuffer, bias ? gpuStorage(bias).buffer : wBuffer, y.buffer],
    workgroups: checkGrid("conv1d", [Math.ceil(spacing * groups / WG), Math.ceil(g.Cout / tile.co), g.N], shapes)
  });
  return y;
}
function conv1dBackwardInput2(rt, dy, w, xShape, wShape, p) {
  const g = geometry(xShape, wShape, p);
  const shapes = describe(g, p);
  const dx = allocate(rt, g.N * g.Cin * g.L, "conv1d.dx");
  const phaseLength = Math.ceil(g.L / p.stride);
  rt.dispatch({
    kernel: "conv1d.backwardInput",
    shapes,
    shader: conv1d_backward_input_default,
    constants: { WG },
    params: shapeParams(g, p).u32(phaseLength),
    buffers: [gpuStorage(dy).buffer, gpuStorage(w).buffer, dx.buffer],
    workgroups: checkGrid("conv1dBackwardInput", [Math.ceil(phaseLength / (WG * TILE)), Math.ceil(g.Cin / TILE) * p.stride, g.N], shapes)
  });
  return dx;
}
function conv1dBackwardWeight2(rt, dy, x, xShape, wShape, p) {
  const g = geometry(xShape, wShape, p);
  const shapes = describe(g, p);
  const count = g.Cout * g.Cin * g.K;
  const colTiles = Math.ceil(g.Cin * g.K / TILE);
  const coTiles = Math.ceil(g.Cout / TILE);
  const tileGroups = Math.ceil(colTiles * coTiles / WG);
  const wantedChunks = Math.ceil(TARGET_WORKGROUPS / tileGroups);
  const perSample = Math.max(1, Math.min(Math.ceil(wantedChunks / g.N), Math.floor(g.Lout / MIN_CHUNK)));
  const chunkLength = Math.ceil(g.Lout / perSample);
  const chunksPerSample = Math.ceil(g.Lout / chunkLength);
  const chunks = g.N * chunksPerSample;
  const dw = allocate(rt, count, "conv1d.dw");
  const partials = chunks === 1 ? dw : allocate(rt, chunks * count, "conv1d.dw.partials");
  rt.dispatch({
    kernel: "conv1d.backwardWeight",
    shapes,
    shader: conv1d_backward_weight_default,
    entryPoint: "partial",
    constants: { WG },
    params: shapeParams(g, p).u32(chunkLength, chunksPerSample, colTiles, coTiles),
    buffers: [gpuStorage(dy).buffer, gpuStorage(x).buffer, partials.buffer],
    workgroups: checkGrid("conv1dBackwardWeight", [tileGroups, chunks, 1], shapes)
  });
  if (partials !== dw) {
    const [gx, gy] = grid1d(count, WG);
    rt.dispatch({
      kernel: "conv1d.backwardWeight.reduce",
      shapes,
      shader: conv1d_backward_weight_default,
      entryPoint: "reduce",
      constants: { WG },
      params: new Params().u32(count, chunks, gx * WG),
      buffers: [partials.buffer, dw.buffer],
      workgroups: [gx, gy]
    });
    rt.release(partials.buffer);
  }
  return dw;
}

// shaders/elementwise-map.wgsl
var elementwise_map_default = "// Same-shape elementwise maps over n float32 values: unary ops and their derivatives, binary ops of equal\n// shapes, affine, in-place accumulation and fill.\n//\n// Each map has two entry points: `<name>Vec4` (one vec4 per invocation, the fast path; the caller uses it\n// when every bound buffer holds ceil(n/4) whole vec4s, which pooled buffers always do, so the last vec4 may\n// spill into the buffer's slack past n) and `<name>` (one float per invocation). Both views of a buffer sit at\n// the same binding; an entry point uses only one of them. The arithmetic is written once, on vec4 (a scalar is\n// splat in and its .x taken out; the compiler drops the unused lanes).\n//\n// Invocations are numbered gid.x + gid.y \xB7 nwg.x \xB7 WG (the runtime's grid1d folds big grids into 2-D).\n// OP selects the operation (an override constant, so each op is its own specialised pipeline).\n\noverride WG: u32 = 256;\n// unary: 0 relu, 1 sigmoid, 2 tanh, 3 exp, 4 log, 5 neg, 6 abs, 7 sqrt, 8 square, 9 gelu, 10 leakyRelu.\n// binary: 0 add, 1 sub, 2 mul, 3 div.\noverride OP: u32 = 0;\n\nconst GELU_K: f32 = 0.7978845608028654; // \u221A(2/\u03C0)\nconst GELU_C: f32 = 0.044715;\nconst LEAKY_SLOPE: f32 = 0.01;\n\nstruct Params {\n  // Elements for the scalar entry points, vec4s for the Vec4 ones.\n  count: u32,\n  alpha: f32,\n  beta: f32,\n}\n\n@group(0) @binding(0) var<uniform> params: Params;\n\n@group(0) @binding(1) var<storage, read> a: array<f32>;\n@group(0) @binding(1) var<storage, read> a4: array<vec4f>;\n@group(0) @binding(2) var<storage, read> b: array<f32>;\n@group(0) @binding(2) var<storage, read> b4: array<vec4f>;\n@group(0) @binding(3) var<storage, read> c: array<f32>;\n@group(0) @binding(3) var<storage, read> c4: array<vec4f>;\n\n// Outputs, at the binding after the inputs of each entry point.\n@group(0) @binding(1) var<storage, read_write> out1: array<f32>;\n@group(0) @binding(1) var<storage, read_write> out1v: array<vec4f>;\n@group(0) @binding(2) var<storage, read_write> out2: array<f32>;\n@group(0) @binding(2) var<storage, read_write> out2v: array<vec4f>;\n@group(0) @binding(3) var<storage, read_write> out3: array<f32>;\n@group(0) @binding(3) var<storage, read_write> out3v: array<vec4f>;\n@group(0) @binding(4) var<storage, read_write> out4: array<f32>;\n@group(0) @binding(4) var<storage, read_write> out4v: array<vec4f>;\n\nfn index(gid: vec3u, nwg: vec3u) -> u32 {\n  return gid.x + gid.y * nwg.x * WG;\n}\n\n// tanh that saturates cleanly: some drivers compute tanh through exp and return NaN for large |x|.\nfn safeTanh(x: vec4f) -> vec4f {\n  return select(tanh(x), sign(x), abs(x) > vec4f(10.0));\n}\n\nfn unaryOp(x: vec4f) -> vec4f {\n  switch OP {\n    case 0u: { return max(x, vec4f(0.0)); }\n    case 1u: { return 1.0 / (1.0 + exp(-x)); }\n    case 2u: { return safeTanh(x); }\n    case 3u: { return exp(x); }\n    case 4u: { return log(x); }\n    case 5u: { return -x; }\n    case 6u: { return abs(x); }\n    case 7u: { return sqrt(x); }\n    case 8u: { return x * x; }\n    case 9u: { return 0.5 * x * (1.0 + safeTanh(GELU_K * (x + GELU_C * x * x * x))); }\n    default: { return select(LEAKY_SLOPE * x, x, x > vec4f(0.0)); }\n  }\n}\n\n// dx = dy \xB7 op'(x), with y = op(x) where that is cheaper; torch's values at the kinks (relu'(0) = 0,\n// |\xB7|'(0) = 0, leakyRelu'(0) = slope).\nfn unaryGrad(x: vec4f, y: vec4f, dy: vec4f) -> vec4f {\n  switch OP {\n    case 0u: { return select(vec4f(0.0), dy, x > vec4f(0.0)); }\n    case 1u: { return dy * y * (1.0 - y); }\n    case 2u: { return dy * (1.0 - y * y); }\n    case 3u: { return dy * y; }\n    case 4u: { return dy / x; }\n    case 5u: { return -dy; }\n    case 6u: { return dy * sign(x); }\n    case 7u: { return dy * 0.5 / y; }\n    case 8u: { return dy * 2.0 * x; }\n    case 9u: {\n      let t = safeTanh(GELU_K * (x + GELU_C * x * x * x));\n      return dy * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * GELU_K * (1.0 + 3.0 * GELU_C * x * x));\n    }\n    default: { return select(LEAKY_SLOPE * dy, dy, x > vec4f(0.0)); }\n  }\n}\n\nfn binaryOp(u: vec4f, v: vec4f) -> vec4f {\n  switch OP {\n    case 0u: { return u + v; }\n    case 1u: { return u - v; }\n    case 2u: { return u * v; }\n    default: { return u / v; }\n  }\n}\n\n// y = op(x): a \u2192 out2.\n@compute @workgroup_size(WG)\nfn unaryVec4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let i = index(gid, nwg);\n  if (i < params.count) {\n    out2v[i] = unaryOp(a4[i]);\n  }\n}\n\n@compute @workgroup_size(WG)\nfn unary(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let i = index(gid, nwg);\n  if (i < params.count) {\n    out2[i] = unaryOp(vec4f(a[i])).x;\n  }\n}\n\n// dx = dy \xB7 op'(x): x = a, y = b, dy = c \u2192 out4. Every op reads all three (the bindings must be used).\n@compute @workgroup_size(WG)\nfn unaryBackwardVec4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let i = index(gid, nwg);\n  if (i < params.count) {\n    out4v[i] = unaryGrad(a4[i], b4[i], c4[i]);\n  }\n}\n\n@compute @workgroup_size(WG)\nfn unaryBackward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let i = index(gid, nwg);\n  if (i < params.count) {\n    out4[i] = unaryGrad(vec4f(a[i]), vec4f(b[i]), vec4f(c[i])).x;\n  }\n}\n\n// out = a \u2218 b, same shapes \u2192 out3.\n@compute @workgroup_size(WG)\nfn binaryVec4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let i = index(gid, nwg);\n  if (i < params.count) {\n    out3v[i] = binaryOp(a4[i], b4[i]);\n  }\n}\n\n@compute @workgroup_size(WG)\nfn binary(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let i = index(gid, nwg);\n  if (i < params.count) {\n    out3[i] = binaryOp(vec4f(a[i]), vec4f(b[i])).x;\n  }\n}\n\n// out = alpha\xB7a + beta \u2192 out2.\n@compute @workgroup_size(WG)\nfn affineVec4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let i = index(gid, nwg);\n  if (i < params.count) {\n    out2v[i] = fma(vec4f(params.alpha), a4[i], vec4f(params.beta));\n  }\n}\n\n@compute @workgroup_size(WG)\nfn affine(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let i = index(gid, nwg);\n  if (i < params.count) {\n    out2[i] = fma(params.alpha, a[i], params.beta);\n  }\n}\n\n// acc (out1, read_write) += x (b), in place.\n@compute @workgroup_size(WG)\nfn accumulateVec4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let i = index(gid, nwg);\n  if (i < params.count) {\n    out1v[i] = out1v[i] + b4[i];\n  }\n}\n\n@compute @workgroup_size(WG)\nfn accumulate(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let i = index(gid, nwg);\n  if (i < params.count) {\n    out1[i] = out1[i] + b[i];\n  }\n}\n\n// out1 = alpha everywhere.\n@compute @workgroup_size(WG)\nfn fillVec4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let i = index(gid, nwg);\n  if (i < params.count) {\n    out1v[i] = vec4f(params.alpha);\n  }\n}\n\n@compute @workgroup_size(WG)\nfn fill(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let i = index(gid, nwg);\n  if (i < params.count) {\n    out1[i] = params.alpha;\n  }\n}\n\n// out1 = alpha\xB7out1 in place: accumulate(acc, acc) (a buffer cannot be bound twice when one is writable).\n@compute @workgroup_size(WG)\nfn scaleInPlace(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let i = index(gid, nwg);\n  if (i < params.count) {\n    out1[i] = params.alpha * out1[i];\n  }\n}\n";

// shaders/elementwise-broadcast.wgsl
var elementwise_broadcast_default = "// Strided elementwise kernels: binary ops with NumPy broadcasting, and broadcastTo.\n//\n// The caller collapses the shapes (drops size-1 output dims, merges neighbours that broadcast alike) to at\n// most 6 dims, passed innermost first as d0..d5 with each operand's element strides sa/sb (0 along a broadcast\n// dim). RANK is an override constant, so the unused dims compile away.\n//\n// The output is `rows` rows of d0. A workgroup is WGX columns \xD7 WGY rows (WGX\xB7WGY = 256; the caller picks WGX\n// from d0, so long rows get whole workgroups and short rows share one without idling most lanes): lanes along\n// x walk consecutive outputs, so no invocation divides to find its column. The row's operand offsets come from\n// one division chain over the outer dims, the same for the whole workgroup when WGY = 1. An invocation then\n// adds its column at the operand's inner stride (1, or 0 when broadcast along d0).\n// The `Vec4` entry points do the same on vec4s when d0 is a multiple of 4 (d0 then counts vec4s; strides stay\n// in elements): an operand spanning d0 is read as vec4s, a broadcast one as a single float splat, read through\n// the vec4 view at component offset % 4 (every buffer must hold whole vec4s, as pooled buffers do).\n//\n// Workgroups are numbered wid.x + wid.y \xB7 nwg.x (grid1d's 2-D fold): blocksPerRow column blocks per row group.\n\noverride WGX: u32 = 256;\noverride WGY: u32 = 1;\noverride RANK: u32 = 1;\n// 0 add, 1 sub, 2 mul, 3 div.\noverride OP: u32 = 0;\n\nstruct Params {\n  rows: u32,\n  blocksPerRow: u32,\n  d0: u32, d1: u32, d2: u32, d3: u32, d4: u32, d5: u32,\n  sa0: u32, sa1: u32, sa2: u32, sa3: u32, sa4: u32, sa5: u32,\n  sb0: u32, sb1: u32, sb2: u32, sb3: u32, sb4: u32, sb5: u32,\n}\n\n@group(0) @binding(0) var<uniform> params: Params;\n@group(0) @binding(1) var<storage, read> a: array<f32>;\n@group(0) @binding(1) var<storage, read> a4: array<vec4f>;\n@group(0) @binding(2) var<storage, read> b: array<f32>;\n@group(0) @binding(2) var<storage, read> b4: array<vec4f>;\n// binary writes binding 3, broadcastTo binding 2.\n@group(0) @binding(3) var<storage, read_write> out3: array<f32>;\n@group(0) @binding(3) var<storage, read_write> out3v: array<vec4f>;\n@group(0) @binding(2) var<storage, read_write> out2: array<f32>;\n@group(0) @binding(2) var<storage, read_write> out2v: array<vec4f>;\n\nfn binaryOp(u: vec4f, v: vec4f) -> vec4f {\n  switch OP {\n    case 0u: { return u + v; }\n    case 1u: { return u - v; }\n    case 2u: { return u * v; }\n    default: { return u / v; }\n  }\n}\n\n// Offsets in a and b of the element with linear index `index` over dims first..RANK-1 (row-major); with\n// first = 1 (a row of the Rows kernels) and RANK = 1 that is the single row, at offset 0.\nfn offsetsFrom(first: u32, index: u32) -> vec2u {\n  let dims = array<u32, 6>(params.d0, params.d1, params.d2, params.d3, params.d4, params.d5);\n  let sa = array<u32, 6>(params.sa0, params.sa1, params.sa2, params.sa3, params.sa4, params.sa5);\n  let sb = array<u32, 6>(params.sb0, params.sb1, params.sb2, params.sb3, params.sb4, params.sb5);\n  var rest = index;\n  var offset = vec2u(0u);\n  for (var k = first; k < RANK - 1u; k++) {\n    let q = rest / dims[k];\n    offset += (rest - q * dims[k]) * vec2u(sa[k], sb[k]);\n    rest = q;\n  }\n  return offset + rest * vec2u(sa[RANK - 1u], sb[RANK - 1u]);\n}\n\n// This invocation's output row and column, and whether it is inside the output.\nstruct Position {\n  row: u32,\n  column: u32,\n  valid: bool,\n}\n\nfn position(wid: vec3u, nwg: vec3u, lid: vec3u) -> Position {\n  let w = wid.x + wid.y * nwg.x;\n  let rowGroup = w / params.blocksPerRow;\n  let row = rowGroup * WGY + lid.y;\n  let column = (w - rowGroup * params.blocksPerRow) * WGX + lid.x;\n  return Position(row, column, row < params.rows && column < params.d0);\n}\n\n// Four values of an operand from vec4 offset base (inner stride 1), or the float at element offset base\n// splat (inner stride 0).\nfn loadA4(base: u32, column: u32) -> vec4f {\n  if (params.sa0 == 0u) {\n    return vec4f(a4[base / 4u][base % 4u]);\n  }\n  return a4[base / 4u + column];\n}\n\nfn loadB4(base: u32, column: u32) -> vec4f {\n  if (params.sb0 == 0u) {\n    return vec4f(b4[base / 4u][base % 4u]);\n  }\n  return b4[base / 4u + column];\n}\n\n// ---------------------------------------------------------------------------------------- out = a \u2218 b \u2192 out3\n\n@compute @workgroup_size(WGX, WGY)\nfn binaryRows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {\n  let p = position(wid, nwg, lid);\n  if (p.valid) {\n    let base = offsetsFrom(1u, p.row);\n    let u = a[base.x + p.column * params.sa0];\n    let v = b[base.y + p.column * params.sb0];\n    out3[p.row * params.d0 + p.column] = binaryOp(vec4f(u), vec4f(v)).x;\n  }\n}\n\n@compute @workgroup_size(WGX, WGY)\nfn binaryRowsVec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {\n  let p = position(wid, nwg, lid);\n  if (p.valid) {\n    // Row offsets in elements (an operand spanning d0 has outer strides that are multiples of d0, hence of 4).\n    let base = offsetsFrom(1u, p.row);\n    out3v[p.row * params.d0 + p.column] = binaryOp(loadA4(base.x, p.column), loadB4(base.y, p.column));\n  }\n}\n\n// ---------------------------------------------------------------------------------------- out = a repeated \u2192 out2\n\n@compute @workgroup_size(WGX, WGY)\nfn broadcastRows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {\n  let p = position(wid, nwg, lid);\n  if (p.valid) {\n    let base = offsetsFrom(1u, p.row).x;\n    out2[p.row * params.d0 + p.column] = a[base + p.column * params.sa0];\n  }\n}\n\n@compute @workgroup_size(WGX, WGY)\nfn broadcastRowsVec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {\n  let p = position(wid, nwg, lid);\n  if (p.valid) {\n    let base = offsetsFrom(1u, p.row).x;\n    out2v[p.row * params.d0 + p.column] = loadA4(base, p.column);\n  }\n}\n\n";

// shaders/elementwise-reduce.wgsl
var elementwise_reduce_default = "// sumTo: sums x down to a broadcast shape. The caller collapses the problem (drops size-1 dims, merges\n// neighbours that are both kept or both reduced) to at most 3 kept dims k0..k2 and 3 reduced dims r0..r2,\n// innermost first, each with its element stride in x. Output o (row-major over the kept dims) is\n//   out[o] = \u03A3_{e2 < r2, e1 < r1, e0 < r0} x[base(o) + e0\xB7rs0 + e1\xB7rs1 + e2\xB7rs2].\n//\n// `sumPerThread`: one invocation per (output, chunk of the reduction), walking it serially: for short\n// reductions, and when the kept dim is innermost (then neighbouring invocations read neighbouring addresses).\n// `sumPartial`: one workgroup per (output, chunk of the reduction). Its invocations stride through the chunk\n// WG elements apart (neighbours read neighbours along r0) adding into registers, then a tree in workgroup\n// memory sums the WG partial sums. With chunks = 1 it writes the outputs; with more, it writes partials\n// [outputs, chunks] that a second sumPartial reduces (the two-pass split for few outputs and long\n// reductions, which also keeps float32 rounding small: short serial runs, then trees).\n// `sumPartialVec4` is sumPartial on a vec4 view of x (the caller divides r0 and all strides by 4 when r0 is\n// contiguous and a multiple of 4).\n//\n// Stepping a reduction index through its mixed-radix (r0, r1, r2) digits is an add with carry: the caller\n// passes the step's digits step0..step2 (WG for sumPartial, 1 for sumPerThread), so the loops need no division.\n\noverride WG: u32 = 256;\n\nstruct Params {\n  outputs: u32,\n  chunks: u32,\n  chunkLength: u32,\n  length: u32,\n  outputFastest: u32,\n  k0: u32, k1: u32, k2: u32,\n  ks0: u32, ks1: u32, ks2: u32,\n  r0: u32, r1: u32, r2: u32,\n  rs0: u32, rs1: u32, rs2: u32,\n  step0: u32, step1: u32, step2: u32,\n}\n\n@group(0) @binding(0) var<uniform> params: Params;\n@group(0) @binding(1) var<storage, read> x: array<f32>;\n@group(0) @binding(1) var<storage, read> x4: array<vec4f>;\n@group(0) @binding(2) var<storage, read_write> out: array<f32>;\n\nvar<workgroup> partial: array<f32, WG>;\n\n// Offset in x of output o's first element.\nfn outputBase(o: u32) -> u32 {\n  let q0 = o / params.k0;\n  let q1 = q0 / params.k1;\n  return (o - q0 * params.k0) * params.ks0 + (q0 - q1 * params.k1) * params.ks1 + q1 * params.ks2;\n}\n\n// Digits (e0, e1, e2) of reduction index r.\nfn digits(r: u32) -> vec3u {\n  let q0 = r / params.r0;\n  let q1 = q0 / params.r1;\n  return vec3u(r - q0 * params.r0, q0 - q1 * params.r1, q1);\n}\n\nfn reducedOffset(e: vec3u) -> u32 {\n  return e.x * params.rs0 + e.y * params.rs1 + e.z * params.rs2;\n}\n\n// e + step in the mixed radix (r0, r1, r2); each step digit is below its radix, so one carry suffices.\nfn stepDigits(e: vec3u) -> vec3u {\n  var d0 = e.x + params.step0;\n  var d1 = e.y + params.step1;\n  if (d0 >= params.r0) {\n    d0 -= params.r0;\n    d1 += 1u;\n  }\n  var d2 = e.z + params.step2;\n  if (d1 >= params.r1) {\n    d1 -= params.r1;\n    d2 += 1u;\n  }\n  return vec3u(d0, d1, d2);\n}\n\n@compute @workgroup_size(WG)\nfn sumPerThread(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let job = gid.x + gid.y * nwg.x * WG;\n  if (job >= params.outputs * params.chunks) {\n    return;\n  }\n  // Output fastest: the partials are [chunks, outputs].\n  let chunk = job / params.outputs;\n  let o = job - chunk * params.outputs;\n  let start = chunk * params.chunkLength;\n  let end = min(start + params.chunkLength, params.length);\n  let base = outputBase(o);\n  var sum = 0.0;\n  var e = digits(start);\n  for (var r = start; r < end; r++) {\n    sum += x[base + reducedOffset(e)];\n    e = stepDigits(e);\n  }\n  out[job] = sum;\n}\n\n// Tree sum of the workgroup's values; the result is in partial[0] for every invocation after the last barrier.\nfn workgroupSum(lid: u32, value: f32) {\n  partial[lid] = value;\n  workgroupBarrier();\n  for (var half = WG / 2u; half > 0u; half /= 2u) {\n    if (lid < half) {\n      partial[lid] += partial[lid + half];\n    }\n    workgroupBarrier();\n  }\n}\n\n@compute @workgroup_size(WG)\nfn sumPartial(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {\n  let job = wid.x + wid.y * nwg.x;\n  if (job >= params.outputs * params.chunks) {\n    return;\n  }\n  let o = job / params.chunks;\n  let start = (job - o * params.chunks) * params.chunkLength;\n  let end = min(start + params.chunkLength, params.length);\n  let base = outputBase(o);\n  var sum = 0.0;\n  var e = digits(start + lid.x);\n  for (var r = start + lid.x; r < end; r += WG) {\n    sum += x[base + reducedOffset(e)];\n    e = stepDigits(e);\n  }\n  workgroupSum(lid.x, sum);\n  if (lid.x == 0u) {\n    out[job] = partial[0];\n  }\n}\n\n@compute @workgroup_size(WG)\nfn sumPartialVec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {\n  let job = wid.x + wid.y * nwg.x;\n  if (job >= params.outputs * params.chunks) {\n    return;\n  }\n  let o = job / params.chunks;\n  let start = (job - o * params.chunks) * params.chunkLength;\n  let end = min(start + params.chunkLength, params.length);\n  let base = outputBase(o);\n  var sum = vec4f(0.0);\n  var e = digits(start + lid.x);\n  for (var r = start + lid.x; r < end; r += WG) {\n    sum += x4[base + reducedOffset(e)];\n    e = stepDigits(e);\n  }\n  workgroupSum(lid.x, (sum.x + sum.y) + (sum.z + sum.w));\n  if (lid.x == 0u) {\n    out[job] = partial[0];\n  }\n}\n\n// Barrier-free: invocation (o, s) sums r = s, s + S, s + 2S, ... of output o (S = chunks; the step digits are\n// S's) and writes partial [o, s] ([s, o] when outputFastest).\n@compute @workgroup_size(WG)\nfn sumInterleaved(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let job = gid.x + gid.y * nwg.x * WG;\n  if (job >= params.outputs * params.chunks) {\n    return;\n  }\n  var o: u32;\n  var s: u32;\n  if (params.outputFastest != 0u) {\n    s = job / params.outputs;\n    o = job - s * params.outputs;\n  } else {\n    o = job / params.chunks;\n    s = job - o * params.chunks;\n  }\n  let base = outputBase(o);\n  var sum = 0.0;\n  var e = digits(s);\n  for (var r = s; r < params.length; r += params.chunks) {\n    sum += x[base + reducedOffset(e)];\n    e = stepDigits(e);\n  }\n  out[job] = sum;\n}\n\n@compute @workgroup_size(WG)\nfn sumInterleavedVec4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let job = gid.x + gid.y * nwg.x * WG;\n  if (job >= params.outputs * params.chunks) {\n    return;\n  }\n  var o: u32;\n  var s: u32;\n  if (params.outputFastest != 0u) {\n    s = job / params.outputs;\n    o = job - s * params.outputs;\n  } else {\n    o = job / params.chunks;\n    s = job - o * params.chunks;\n  }\n  let base = outputBase(o);\n  var sum = vec4f(0.0);\n  var e = digits(s);\n  for (var r = s; r < params.length; r += params.chunks) {\n    sum += x4[base + reducedOffset(e)];\n    e = stepDigits(e);\n  }\n  out[job] = (sum.x + sum.y) + (sum.z + sum.w);\n}\n";

// shaders/elementwise-copy.wgsl
var elementwise_copy_default = "// Block copy between row-major views, for concat (one dispatch per input, into its columns of the output)\n// and slice (a range of columns out of the input):\n//   dst[r\xB7dstStride + dstOffset + c] = src[r\xB7srcStride + srcOffset + c]   for r < rows, c < cols.\n// A tensor [outer, ..., axis, ..., inner] is a matrix [outer, shape[axis]\xB7inner]; concat and slice along axis\n// move column blocks of it.\n//\n// A workgroup is WGX columns \xD7 WGY rows (WGX\xB7WGY = 256, WGX picked from the row length as in\n// elementwise-broadcast.wgsl), so no invocation divides to find its place. `copyRowsVec4` counts everything\n// in vec4s (the caller uses it when cols, strides and offsets are all multiples of 4).\n// Workgroups are numbered wid.x + wid.y \xB7 nwg.x (grid1d's 2-D fold): blocksPerRow column blocks per row group.\n\noverride WGX: u32 = 256;\noverride WGY: u32 = 1;\n\nstruct Params {\n  rows: u32,\n  cols: u32,\n  srcStride: u32,\n  srcOffset: u32,\n  dstStride: u32,\n  dstOffset: u32,\n  blocksPerRow: u32,\n}\n\n@group(0) @binding(0) var<uniform> params: Params;\n@group(0) @binding(1) var<storage, read> src: array<f32>;\n@group(0) @binding(1) var<storage, read> src4: array<vec4f>;\n@group(0) @binding(2) var<storage, read_write> dst: array<f32>;\n@group(0) @binding(2) var<storage, read_write> dst4: array<vec4f>;\n\n// (row, column) of this invocation.\nfn position(wid: vec3u, nwg: vec3u, lid: vec3u) -> vec2u {\n  let w = wid.x + wid.y * nwg.x;\n  let rowGroup = w / params.blocksPerRow;\n  return vec2u(rowGroup * WGY + lid.y, (w - rowGroup * params.blocksPerRow) * WGX + lid.x);\n}\n\n@compute @workgroup_size(WGX, WGY)\nfn copyRows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {\n  let p = position(wid, nwg, lid);\n  if (p.x < params.rows && p.y < params.cols) {\n    dst[p.x * params.dstStride + params.dstOffset + p.y] = src[p.x * params.srcStride + params.srcOffset + p.y];\n  }\n}\n\n@compute @workgroup_size(WGX, WGY)\nfn copyRowsVec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {\n  let p = position(wid, nwg, lid);\n  if (p.x < params.rows && p.y < params.cols) {\n    dst4[p.x * params.dstStride + params.dstOffset + p.y] = src4[p.x * params.srcStride + params.srcOffset + p.y];\n  }\n}\n";

// src/kernels/elementwise.ts
var WG2 = 256;
var MAX_RANK = 6;
var UNARY_CODES = {
  relu: 0,
  sigmoid: 1,
  tanh: 2,
  exp: 3,
  log: 4,
  neg: 5,
  abs: 6,
  sqrt: 7,
  square: 8,
  gelu: 9,
  leakyRelu: 10
};
var BINARY_CODES = { add: 0, sub: 1, mul: 2, div: 3 };
var product = (dims) => dims.reduce((a, b) => a * b, 1);
function map(rt, name, buffers, n, op = 0, alpha = 0, beta = 0) {
  if (n === 0) return;
  const vec4 = buffers.every((b) => b.size >= Math.ceil(n / 4) * 16);
  const count = vec4 ? Math.ceil(n / 4) : n;
  rt.dispatch({
    kernel: `elementwise.${name}`,
    shapes: `[${n}]`,
    shader: elementwise_map_default,
    entryPoint: vec4 ? `${name}Vec4` : name,
    constants: { WG: WG2, OP: op },
    params: new Params().u32(count).f32(alpha, beta),
    buffers,
    workgroups: grid1d(count, WG2)
  });
}
function unary2(rt, op, x) {
  const input = gpuStorage(x);
  const y = allocate(rt, input.length, op);
  map(rt, "unary", [input.buffer, y.buffer], input.length, UNARY_CODES[op]);
  return y;
}
function unaryBackward2(rt, op, x, y, dy) {
  const n = x.length;
  const dx = allocate(rt, n, `${op}.backward`);
  map(rt, "unaryBackward", [gpuStorage(x).buffer, gpuStorage(y).buffer, gpuStorage(dy).buffer, dx.buffer], n, UNARY_CODES[op]);
  return dx;
}
function affine2(rt, x, alpha, beta) {
  const y = allocate(rt, x.length, "affine");
  map(rt, "affine", [gpuStorage(x).buffer, y.buffer], x.length, 0, alpha, beta);
  return y;
}
function accumulate2(rt, acc, x) {
  const target = gpuStorage(acc);
  const source = gpuStorage(x);
  if (target.buffer === source.buffer) {
    rt.dispatch({
      kernel: "elementwise.accumulate",
      shapes: `acc[${acc.length}] (itself)`,
      shader: elementwise_map_default,
      entryPoint: "scaleInPlace",
      constants: { WG: WG2, OP: 0 },
      params: new Params().u32(acc.length).f32(2, 0),
      buffers: [target.buffer],
      workgroups: grid1d(acc.length, WG2)
    });
    return;
  }
  map(rt, "accumulate", [target.buffer, source.buffer], acc.length);
}
function fill(rt, length, value) {
  const out = allocate(rt, length, "fill");
  map(rt, "fill", [out.buffer], length, 0, value);
  return out;
}
function collapse(outShape, operandShapes) {
  const dims = [];
  outShape.forEach((size2, d2) => {
    if (size2 === 1) return;
    const present = operandShapes.map((s) => s[d2] !== 1);
    const last = dims[dims.length - 1];
    if (last && last.present.every((p, k) => p === present[k])) last.size *= size2;
    else dims.push({ size: size2, present });
  });
  return dims;
}
function stridesOf(dims, k) {
  const strides = [];
  let stride = 1;
  for (let d2 = dims.length - 1; d2 >= 0; d2--) {
    strides.push(dims[d2].present[k] ? stride : 0);
    if (dims[d2].present[k]) stride *= dims[d2].size;
  }
  return strides;
}
var pad6 = (values, fill2) => [...values, ...Array(MAX_RANK - values.length).fill(fill2)];
var holdsVec4s = (storages) => storages.every((s) => s.buffer.size >= Math.ceil(s.length / 4) * 16);
function rowTiling(rows, length) {
  const wgx = Math.min(WG2, 2 ** Math.ceil(Math.log2(Math.max(1, length))));
  const wgy = WG2 / wgx;
  const blocksPerRow = Math.ceil(length / wgx);
  return { constants: { WGX: wgx, WGY: wgy }, blocksPerRow, workgroups: grid1d(Math.ceil(rows / wgy) * blocksPerRow, 1) };
}
function strided(rt, name, dims, storages, shapes, op = 0) {
  if (dims.length > MAX_RANK) throw new Error(`elementwise.${name}: ${dims.length} dims after collapsing ${shapes}, at most ${MAX_RANK} supported`);
  const sizes = dims.map((d2) => d2.size).reverse();
  const vec4 = sizes[0] % 4 === 0 && holdsVec4s(storages);
  const d0 = vec4 ? sizes[0] / 4 : sizes[0];
  const rows = product(sizes.slice(1));
  const tiling = rowTiling(rows, d0);
  rt.dispatch({
    kernel: `elementwise.${name}`,
    shapes,
    shader: elementwise_broadcast_default,
    entryPoint: `${name}Rows${vec4 ? "Vec4" : ""}`,
    constants: { ...tiling.constants, RANK: dims.length, OP: op },
    params: new Params().u32(rows, tiling.blocksPerRow).u32(...pad6([d0, ...sizes.slice(1)], 1)).u32(...pad6(stridesOf(dims, 0), 0)).u32(...pad6(dims[0].present.length > 1 ? stridesOf(dims, 1) : [], 0)),
    buffers: storages.map((s) => s.buffer),
    workgroups: tiling.workgroups
  });
}
function binary2(rt, op, a, aShape, b, bShape, outShape) {
  const n = product(outShape);
  const out = allocate(rt, n, op);
  if (n === 0) return out;
  const storages = [gpuStorage(a), gpuStorage(b), out];
  const dims = collapse(outShape, [aShape, bShape]);
  if (dims.length === 0 || dims.length === 1 && dims[0].present[0] && dims[0].present[1]) {
    map(rt, "binary", storages.map((s) => s.buffer), n, BINARY_CODES[op]);
  } else {
    strided(rt, "binary", dims, storages, `a[${aShape}] b[${bShape}] out[${outShape}]`, BINARY_CODES[op]);
  }
  return out;
}
function broadcastTo2(rt, x, shape, outShape) {
  const n = product(outShape);
  const out = allocate(rt, n, "broadcastTo");
  if (n === 0) return out;
  const input = gpuStorage(x);
  const dims = collapse(outShape, [shape]);
  if (dims.length === 0 || dims.length === 1 && dims[0].present[0]) {
    rt.copy(input.buffer, out.buffer, n * 4);
  } else {
    strided(rt, "broadcast", dims, [input, out], `x[${shape}] out[${outShape}]`);
  }
  return out;
}
var SERIAL_MIN = 32;
var SERIAL_MAX = 256;
var TARGET_WORKGROUPS2 = 1024;
var TARGET_THREADS = 65536;
function reduceShape(shape, outShape) {
  const dims = collapse(shape, [outShape]);
  const kept = [];
  const reduced = [];
  let stride = 1;
  for (let d2 = dims.length - 1; d2 >= 0; d2--) {
    (dims[d2].present[0] ? kept : reduced).push({ size: dims[d2].size, stride });
    stride *= dims[d2].size;
  }
  return { kept, reduced };
}
function sumTo2(rt, x, shape, outShape) {
  const input = gpuStorage(x);
  const m = product(outShape);
  const { kept, reduced } = reduceShape(shape, outShape);
  const shapes = `x[${shape}] out[${outShape}]`;
  if (kept.length > 3 || reduced.length > 3) throw new Error(`elementwise.sumTo ${shapes}: too many alternating kept and summed dims (at most 3 of each)`);
  if (input.length === 0 || m === 0) {
    const out = allocate(rt, m, "sumTo");
    rt.clear(out.buffer, m * 4);
    return out;
  }
  if (reduced.length === 0) {
    const out = allocate(rt, m, "sumTo");
    rt.copy(input.buffer, out.buffer, m * 4);
    return out;
  }
  return reduce(rt, input.buffer, { kept, reduced }, shapes);
}
function digitsOf(value, axes) {
  return axes.map((a) => {
    const digit = value % a.size;
    value = Math.floor(value / a.size);
    return digit;
  });
}
var REDUCE_MODE = globalThis.process?.env?.REDUCE_MODE ?? "interleaved";
function reduce(rt, x, plan2, shapes) {
  return REDUCE_MODE === "tree" ? reduceTree(rt, x, plan2, shapes) : reduceInterleaved(rt, x, plan2, shapes);
}
function reduceInterleaved(rt, x, plan2, shapes) {
  const outputs = product(plan2.kept.map((a) => a.size));
  let length = product(plan2.reduced.map((a) => a.size));
  let { kept, reduced } = plan2;
  const outputFastest = kept.length > 0 && kept[0].stride === 1;
  const vec4 = !outputFastest && reduced[0].stride === 1 && reduced[0].size % 4 === 0;
  if (vec4) {
    kept = kept.map((a) => ({ size: a.size, stride: a.stride / 4 }));
    reduced = reduced.map((a, i) => ({ size: i === 0 ? a.size / 4 : a.size, stride: i === 0 ? 1 : a.stride / 4 }));
    length /= 4;
  }
  const numericBound = Math.ceil(length / SERIAL_MAX);
  const chunks = outputs * length <= TARGET_THREADS ? numericBound : Math.max(numericBound, Math.min(Math.ceil(TARGET_THREADS / outputs), Math.floor(length / SERIAL_MIN)), 1);
  const jobs = outputs * chunks;
  const result2 = allocate(rt, jobs, chunks === 1 ? "sumTo" : "sumTo.partials");
  const k = pad3(kept);
  const r = pad3(reduced);
  rt.dispatch({
    kernel: "elementwise.sumTo",
    shapes: chunks === 1 ? shapes : `${shapes} in ${chunks} chunks`,
    shader: elementwise_reduce_default,
    entryPoint: vec4 ? "sumInterleavedVec4" : "sumInterleaved",
    constants: { WG: WG2 },
    params: new Params().u32(outputs, chunks, 0, length, outputFastest ? 1 : 0).u32(...k.map((a) => a.size), ...k.map((a) => a.stride)).u32(...r.map((a) => a.size), ...r.map((a) => a.stride)).u32(...digitsOf(chunks, r)),
    buffers: [x, result2.buffer],
    workgroups: grid1d(jobs, WG2)
  });
  if (chunks === 1) return result2;
  const second = outputFastest ? { kept: [{ size: outputs, stride: 1 }], reduced: [{ size: chunks, stride: outputs }] } : { kept: outputs > 1 ? [{ size: outputs, stride: chunks }] : [], reduced: [{ size: chunks, stride: 1 }] };
  const out = reduceInterleaved(rt, result2.buffer, second, `${shapes} partials`);
  rt.release(result2.buffer);
  return out;
}
function reduceTree(rt, x, plan2, shapes) {
  const outputs = product(plan2.kept.map((a) => a.size));
  let length = product(plan2.reduced.map((a) => a.size));
  let { kept, reduced } = plan2;
  const perThread = kept.length > 0 && kept[0].stride === 1 || length <= WG2;
  const vec4 = !perThread && reduced[0].stride === 1 && reduced[0].size % 4 === 0;
  if (vec4) {
    kept = kept.map((a) => ({ size: a.size, stride: a.stride / 4 }));
    reduced = reduced.map((a, i) => ({ size: i === 0 ? a.size / 4 : a.size, stride: i === 0 ? 1 : a.stride / 4 }));
    length /= 4;
  }
  const lanes = perThread ? 1 : WG2;
  const chunks = length <= lanes * SERIAL_MAX && (perThread || outputs >= TARGET_WORKGROUPS2) ? 1 : Math.max(
    Math.ceil(length / (lanes * SERIAL_MAX)),
    Math.min(Math.ceil((perThread ? TARGET_THREADS : TARGET_WORKGROUPS2) / outputs), Math.ceil(length / (lanes * SERIAL_MIN)))
  );
  const chunkLength = Math.ceil(length / chunks);
  const jobs = outputs * chunks;
  const result2 = allocate(rt, jobs, chunks === 1 ? "sumTo" : "sumTo.partials");
  const k = pad3(kept);
  const r = pad3(reduced);
  const step = digitsOf(lanes, r);
  rt.dispatch({
    kernel: "elementwise.sumTo",
    shapes: chunks === 1 ? shapes : `${shapes} in ${chunks} chunks`,
    shader: elementwise_reduce_default,
    entryPoint: perThread ? "sumPerThread" : vec4 ? "sumPartialVec4" : "sumPartial",
    constants: { WG: WG2 },
    params: new Params().u32(outputs, chunks, chunkLength, length, 0).u32(...k.map((a) => a.size), ...k.map((a) => a.stride)).u32(...r.map((a) => a.size), ...r.map((a) => a.stride)).u32(...step),
    buffers: [x, result2.buffer],
    workgroups: perThread ? grid1d(jobs, WG2) : grid1d(jobs, 1)
  });
  if (chunks === 1) return result2;
  const second = perThread ? { kept: [{ size: outputs, stride: 1 }], reduced: [{ size: chunks, stride: outputs }] } : { kept: outputs > 1 ? [{ size: outputs, stride: chunks }] : [], reduced: [{ size: chunks, stride: 1 }] };
  const out = reduceTree(rt, result2.buffer, second, `${shapes} partials`);
  rt.release(result2.buffer);
  return out;
}
var pad3 = (axes) => [...axes, ...Array(3 - axes.length).fill({ size: 1, stride: 0 })];
function copyBlock(rt, src, dst, rows, cols, srcStride, srcOffset, dstStride, dstOffset, shapes) {
  if (rows === 0 || cols === 0) return;
  const vec4 = [cols, srcStride, srcOffset, dstStride, dstOffset].every((v) => v % 4 === 0) && holdsVec4s([src, dst]);
  const unit = vec4 ? 4 : 1;
  const tiling = rowTiling(rows, cols / unit);
  rt.dispatch({
    kernel: "elementwise.copyBlock",
    shapes,
    shader: elementwise_copy_default,
    entryPoint: vec4 ? "copyRowsVec4" : "copyRows",
    constants: tiling.constants,
    params: new Params().u32(rows, cols / unit, srcStride / unit, srcOffset / unit, dstStride / unit, dstOffset / unit, tiling.blocksPerRow),
    buffers: [src.buffer, dst.buffer],
    workgroups: tiling.workgroups
  });
}
function concat2(rt, inputs, shapes, axis) {
  const outer = product(shapes[0].slice(0, axis));
  const inner = product(shapes[0].slice(axis + 1));
  const rowLengths = shapes.map((s) => s[axis] * inner);
  const outRow = rowLengths.reduce((a, b) => a + b, 0);
  const out = allocate(rt, outer * outRow, "concat");
  let column = 0;
  inputs.forEach((x, k) => {
    const row = rowLengths[k];
    copyBlock(rt, gpuStorage(x), out, outer, row, row, 0, outRow, column, `input ${k} [${shapes[k]}] along axis ${axis}`);
    column += row;
  });
  return out;
}
function slice2(rt, x, shape, axis, start, length) {
  const outer = product(shape.slice(0, axis));
  const inner = product(shape.slice(axis + 1));
  const out = allocate(rt, outer * length * inner, "slice");
  copyBlock(rt, gpuStorage(x), out, outer, length * inner, shape[axis] * inner, start * inner, length * inner, 0, `x[${shape}] axis ${axis} [${start}, ${start + length})`);
  return out;
}

// shaders/gemm.wgsl
var gemm_default = "// GEMM: C[M,N] = op(A)\xB7op(B) (+ bias[N] broadcast over rows) (then relu), row-major float32.\n// A is stored [M,K], or [K,M] when TRANS_A; B is stored [K,N], or [N,K] when TRANS_B.\n//\n// Thread layout, shared by both entry points: a workgroup of WG_X \xD7 WG_Y threads owns a TILE_M \xD7 TILE_N block\n// of C, and each thread a (4\xB7ROW_VECS) \xD7 (4\xB7COL_VECS) register block made of 4\xD74 pieces strided by the\n// workgroup size: thread (x, y) owns rows 4\xB7(y + i\xB7WG_Y) + 0..3 and columns 4\xB7(x + j\xB7WG_X) + 0..3 of the\n// block. Strided pieces make neighbouring threads read neighbouring vec4s of the shared tiles (no bank\n// conflicts) and write neighbouring 16-byte chunks of C.\n//\n// Two ways to feed the registers:\n//  - gemm_tiled: the workgroup stages TILE_K-deep slabs of op(A) and op(B) in workgroup memory (k-major,\n//    so each k step is ROW_VECS + COL_VECS vec4 reads for 16\xB7ROW_VECS\xB7COL_VECS vec4 FMAs). For GPUs.\n//  - gemm_direct: each thread reads its rows of A and columns of B straight from the storage buffers, no\n//    barriers. For CPU drivers (lavapipe), where barriers and workgroup memory are slow and caches do the job.\n//\n// The grid is [ceil(N / TILE_N), rowTiles] with rowTiles folded into (y, z) past 65535 workgroups.\n\nstruct Params {\n  M: u32,\n  N: u32,\n  K: u32,\n}\n\n@group(0) @binding(0) var<uniform> p: Params;\n@group(0) @binding(1) var<storage, read> a: array<f32>;\n@group(0) @binding(2) var<storage, read> b: array<f32>;\n// When HAS_BIAS is false the host binds some other read-only buffer here; it is never read.\n@group(0) @binding(3) var<storage, read> bias: array<f32>;\n@group(0) @binding(4) var<storage, read_write> c: array<f32>;\n\noverride WG_X: u32 = 16;\noverride WG_Y: u32 = 16;\n// vec4 pieces per thread along M and along N (1 or 2): a 4\xD74, 4\xD78, 8\xD74 or 8\xD78 register block.\noverride ROW_VECS: u32 = 2;\noverride COL_VECS: u32 = 2;\n// Depth of the staged slabs (gemm_tiled only); a multiple of 4.\noverride TILE_K: u32 = 8;\noverride TRANS_A: bool = false;\noverride TRANS_B: bool = false;\noverride HAS_BIAS: bool = false;\noverride RELU: bool = false;\n\noverride TILE_M: u32 = 4u * ROW_VECS * WG_Y;\noverride TILE_N: u32 = 4u * COL_VECS * WG_X;\n// Rows of the staged slabs, in vec4s, padded by one vec4 so that staging the transposed operand\n// (consecutive threads walking k) spreads its writes over the banks.\noverride SLAB_A_ROW: u32 = TILE_M / 4u + 1u;\noverride SLAB_B_ROW: u32 = TILE_N / 4u + 1u;\noverride SLAB_A_LEN: u32 = TILE_K * SLAB_A_ROW;\noverride SLAB_B_LEN: u32 = TILE_K * SLAB_B_ROW;\n\n// op(A) and op(B) slabs, k-major: slabA[k\xB7SLAB_A_ROW + m/4][m%4] = op(A)[row0 + m, k0 + k].\nvar<workgroup> slabA: array<vec4f, SLAB_A_LEN>;\nvar<workgroup> slabB: array<vec4f, SLAB_B_LEN>;\n\n// The accumulators of one thread: acc[(4\xB7i + r)\xB72 + j] holds row 4\xB7(y + i\xB7WG_Y) + r, columns of piece j.\nconst MAX_ACC = 16u;\n\nfn tileRow0(wid: vec3u, nwg: vec3u) -> u32 {\n  return (wid.y + wid.z * nwg.y) * TILE_M;\n}\n\n/** op(A)[row, k], zero outside the matrix. */\nfn loadA(row: u32, k: u32) -> f32 {\n  if (row >= p.M || k >= p.K) {\n    return 0.0;\n  }\n  return select(a[row * p.K + k], a[k * p.M + row], TRANS_A);\n}\n\n/** op(B)[k, col], zero outside the matrix. */\nfn loadB(k: u32, col: u32) -> f32 {\n  if (k >= p.K || col >= p.N) {\n    return 0.0;\n  }\n  return select(b[k * p.N + col], b[col * p.K + k], TRANS_B);\n}\n\n/** Adds the bias, applies the activation and writes the thread's block (clipped to the matrix). */\nfn storeBlock(acc: ptr<function, array<vec4f, MAX_ACC>>, row0: u32, col0: u32, lid: vec3u) {\n  for (var i = 0u; i < ROW_VECS; i++) {\n    for (var r = 0u; r < 4u; r++) {\n      let row = row0 + 4u * (lid.y + i * WG_Y) + r;\n      if (row >= p.M) {\n        return;\n      }\n      for (var j = 0u; j < COL_VECS; j++) {\n        let col = col0 + 4u * (lid.x + j * WG_X);\n        var v = (*acc)[(4u * i + r) * 2u + j];\n        for (var q = 0u; q < 4u; q++) {\n          if (col + q < p.N) {\n            var x = v[q];\n            if (HAS_BIAS) {\n              x += bias[col + q];\n            }\n            if (RELU) {\n              x = max(x, 0.0);\n            }\n            c[row * p.N + col + q] = x;\n          }\n        }\n      }\n    }\n  }\n}\n\n// Slab elements each thread stages per k step (at most MAX_STAGED): consecutive threads take consecutive\n// elements of the stored layout's contiguous dimension, so the global reads coalesce whichever the transposition.\noverride THREADS: u32 = WG_X * WG_Y;\noverride STAGED_A: u32 = (TILE_K * TILE_M + THREADS - 1u) / THREADS;\noverride STAGED_B: u32 = (TILE_K * TILE_N + THREADS - 1u) / THREADS;\nconst MAX_STAGED = 8u;\n\n/** Position (m, k) in the A slab of the l-th staged element. */\nfn slabPosA(l: u32) -> vec2u {\n  return select(vec2u(l / TILE_K, l % TILE_K), vec2u(l % TILE_M, l / TILE_M), TRANS_A);\n}\n\n/** Position (n, k) in the B slab of the l-th staged element. */\nfn slabPosB(l: u32) -> vec2u {\n  return select(vec2u(l % TILE_N, l / TILE_N), vec2u(l / TILE_K, l % TILE_K), TRANS_B);\n}\n\n@compute @workgroup_size(WG_X, WG_Y)\nfn gemm_tiled(\n  @builtin(local_invocation_id) lid: vec3u,\n  @builtin(local_invocation_index) li: u32,\n  @builtin(workgroup_id) wid: vec3u,\n  @builtin(num_workgroups) nwg: vec3u,\n) {\n  let row0 = tileRow0(wid, nwg);\n  let col0 = wid.x * TILE_N;\n  if (row0 >= p.M) {\n    return; // a workgroup of the folded grid's last row past the end: uniform across the workgroup\n  }\n  // The next slabs' elements are read into registers while the current slabs are multiplied, so the global\n  // loads' latency hides behind the FMAs (one workgroup-memory buffer, two barriers per k step).\n  var nextA: array<f32, MAX_STAGED>;\n  var nextB: array<f32, MAX_STAGED>;\n  for (var t = 0u; t < STAGED_A; t++) {\n    let pos = slabPosA(li + t * THREADS);\n    nextA[t] = loadA(row0 + pos.x, pos.y);\n  }\n  for (var t = 0u; t < STAGED_B; t++) {\n    let pos = slabPosB(li + t * THREADS);\n    nextB[t] = loadB(pos.y, col0 + pos.x);\n  }\n  var acc: array<vec4f, MAX_ACC>;\n  for (var k0 = 0u; k0 < p.K; k0 += TILE_K) {\n    for (var t = 0u; t < STAGED_A; t++) {\n      let l = li + t * THREADS;\n      if (l < TILE_K * TILE_M) {\n        let pos = slabPosA(l);\n        slabA[pos.y * SLAB_A_ROW + pos.x / 4u][pos.x % 4u] = nextA[t];\n      }\n    }\n    for (var t = 0u; t < STAGED_B; t++) {\n      let l = li + t * THREADS;\n      if (l < TILE_K * TILE_N) {\n        let pos = slabPosB(l);\n        slabB[pos.y * SLAB_B_ROW + pos.x / 4u][pos.x % 4u] = nextB[t];\n      }\n    }\n    workgroupBarrier();\n    let k1 = k0 + TILE_K;\n    if (k1 < p.K) {\n      for (var t = 0u; t < STAGED_A; t++) {\n        let pos = slabPosA(li + t * THREADS);\n        nextA[t] = loadA(row0 + pos.x, k1 + pos.y);\n      }\n      for (var t = 0u; t < STAGED_B; t++) {\n        let pos = slabPosB(li + t * THREADS);\n        nextB[t] = loadB(k1 + pos.y, col0 + pos.x);\n      }\n    }\n    for (var k = 0u; k < TILE_K; k++) {\n      var av: array<vec4f, 2>;\n      var bv: array<vec4f, 2>;\n      for (var i = 0u; i < ROW_VECS; i++) {\n        av[i] = slabA[k * SLAB_A_ROW + lid.y + i * WG_Y];\n      }\n      for (var j = 0u; j < COL_VECS; j++) {\n        bv[j] = slabB[k * SLAB_B_ROW + lid.x + j * WG_X];\n      }\n      for (var i = 0u; i < ROW_VECS; i++) {\n        for (var r = 0u; r < 4u; r++) {\n          for (var j = 0u; j < COL_VECS; j++) {\n            let q = (4u * i + r) * 2u + j;\n            acc[q] = fma(vec4f(av[i][r]), bv[j], acc[q]);\n          }\n        }\n      }\n    }\n    workgroupBarrier();\n  }\n  storeBlock(&acc, row0, col0, lid);\n}\n\n@compute @workgroup_size(WG_X, WG_Y)\nfn gemm_direct(\n  @builtin(local_invocation_id) lid: vec3u,\n  @builtin(workgroup_id) wid: vec3u,\n  @builtin(num_workgroups) nwg: vec3u,\n) {\n  let row0 = tileRow0(wid, nwg);\n  let col0 = wid.x * TILE_N;\n  // Rows and columns past the edge read the last one (always in bounds); storeBlock drops their results.\n  // Element (row, k) of op(A) is a[aRow[..] + k\xB7aStepK], element (k, col) of op(B) is b[bCol[..] + k\xB7bStepK].\n  let aStepK = select(1u, p.M, TRANS_A);\n  let bStepK = select(p.N, 1u, TRANS_B);\n  var aRow: array<u32, 8>;\n  var bCol: array<u32, 8>;\n  for (var i = 0u; i < ROW_VECS; i++) {\n    for (var r = 0u; r < 4u; r++) {\n      let row = min(row0 + 4u * (lid.y + i * WG_Y) + r, p.M - 1u);\n      aRow[4u * i + r] = select(row * p.K, row, TRANS_A);\n    }\n  }\n  for (var j = 0u; j < COL_VECS; j++) {\n    for (var q = 0u; q < 4u; q++) {\n      let col = min(col0 + 4u * (lid.x + j * WG_X) + q, p.N - 1u);\n      bCol[4u * j + q] = select(col, col * p.K, TRANS_B);\n    }\n  }\n  var acc: array<vec4f, MAX_ACC>;\n  for (var k = 0u; k < p.K; k++) {\n    let ak = k * aStepK;\n    let bk = k * bStepK;\n    var bv: array<vec4f, 2>;\n    for (var j = 0u; j < COL_VECS; j++) {\n      bv[j] = vec4f(b[bCol[4u * j] + bk], b[bCol[4u * j + 1u] + bk], b[bCol[4u * j + 2u] + bk], b[bCol[4u * j + 3u] + bk]);\n    }\n    for (var i = 0u; i < ROW_VECS; i++) {\n      for (var r = 0u; r < 4u; r++) {\n        let av = vec4f(a[aRow[4u * i + r] + ak]);\n        for (var j = 0u; j < COL_VECS; j++) {\n          let q = (4u * i + r) * 2u + j;\n          acc[q] = fma(av, bv[j], acc[q]);\n        }\n      }\n    }\n  }\n  storeBlock(&acc, row0, col0, lid);\n}\n";

// shaders/gemm-subgroup.wgsl
var gemm_subgroup_default = "// GEMM for CPU drivers with subgroups (lavapipe): C[M,N] = op(A)\xB7op(B) (+ bias[N]) (then relu), row-major\n// float32, A stored [M,K] ([K,M] when TRANS_A), B stored [K,N] ([N,K] when TRANS_B). Same semantics, uniforms\n// and bindings as gemm.wgsl.\n//\n// Why a separate kernel: a CPU driver runs the LANES invocations of a subgroup in the lanes of one SIMD\n// register, and every storage or workgroup-memory load whose address differs per lane becomes a gather that\n// costs tens of cycles, while moving a value between lanes costs one. So each load here fetches LANES different\n// values that all get used: a workgroup is one subgroup and owns a (ROW_GROUPS\xB7LANES) \xD7 (COLS\xB7LANES) block of C;\n// lane i owns columns n0 + i + LANES\xB7j (j < COLS) of every row of the block. Per k, lane i loads\n// op(A)[m0 + LANES\xB7g + i, k] for each row group g and op(B)[k, its columns], then broadcasts each A value\n// to all lanes (subgroupShuffle with a uniform lane index): ROW_GROUPS + COLS loads for\n// ROW_GROUPS\xB7LANES\xB7COLS FMAs per lane, no barriers, no workgroup memory.\n//\n// The grid is [ceil(N / (COLS\xB7LANES)), row blocks] with the row blocks folded into (y, z) past 65535.\n\nenable subgroups;\n\nstruct Params {\n  M: u32,\n  N: u32,\n  K: u32,\n}\n\n@group(0) @binding(0) var<uniform> p: Params;\n@group(0) @binding(1) var<storage, read> a: array<f32>;\n@group(0) @binding(2) var<storage, read> b: array<f32>;\n// When HAS_BIAS is false the host binds some other read-only buffer here; it is never read.\n@group(0) @binding(3) var<storage, read> bias: array<f32>;\n@group(0) @binding(4) var<storage, read_write> c: array<f32>;\n\n// The subgroup size the host expects (the driver's SIMD width in floats); the workgroup is one subgroup.\n// If the driver runs another size, the output is NaN rather than silently wrong.\noverride LANES: u32 = 8;\n// Row groups of LANES rows per block (ROW_GROUPS\xB7LANES <= 32), columns per lane (<= 4).\noverride ROW_GROUPS: u32 = 2;\noverride COLS: u32 = 4;\noverride TRANS_A: bool = false;\noverride TRANS_B: bool = false;\noverride HAS_BIAS: bool = false;\noverride RELU: bool = false;\n\noverride BLOCK_M: u32 = ROW_GROUPS * LANES;\noverride BLOCK_N: u32 = COLS * LANES;\n\n@compute @workgroup_size(LANES)\nfn gemm_subgroup(\n  @builtin(workgroup_id) wid: vec3u,\n  @builtin(num_workgroups) nwg: vec3u,\n  @builtin(subgroup_invocation_id) lane: u32,\n  @builtin(subgroup_size) lanes: u32,\n) {\n  let m0 = (wid.y + wid.z * nwg.y) * BLOCK_M;\n  let n0 = wid.x * BLOCK_N;\n  if (m0 >= p.M) {\n    return;\n  }\n  // Element (row, k) of op(A) is a[aRow[g] + k\xB7aStepK], element (k, col) of op(B) is b[bCol[j] + k\xB7bStepK].\n  // Rows and columns past the edge load the last one (in bounds); their results are dropped at the end.\n  let aStepK = select(1u, p.M, TRANS_A);\n  let bStepK = select(p.N, 1u, TRANS_B);\n  var aRow: array<u32, 4>;\n  var bCol: array<u32, 4>;\n  for (var g = 0u; g < ROW_GROUPS; g++) {\n    let row = min(m0 + g * LANES + lane, p.M - 1u);\n    aRow[g] = select(row * p.K, row, TRANS_A);\n  }\n  for (var j = 0u; j < COLS; j++) {\n    let col = min(n0 + j * LANES + lane, p.N - 1u);\n    bCol[j] = select(col, col * p.K, TRANS_B);\n  }\n\n  // acc[r\xB74 + j]: row m0 + r, column n0 + j\xB7LANES + lane.\n  var acc: array<f32, 128>;\n  for (var k = 0u; k < p.K; k++) {\n    var bv: array<f32, 4>;\n    for (var j = 0u; j < COLS; j++) {\n      bv[j] = b[bCol[j] + k * bStepK];\n    }\n    for (var g = 0u; g < ROW_GROUPS; g++) {\n      let av = a[aRow[g] + k * aStepK];\n      for (var i = 0u; i < LANES; i++) {\n        let ai = subgroupShuffle(av, i);\n        let r = g * LANES + i;\n        for (var j = 0u; j < COLS; j++) {\n          acc[r * 4u + j] = fma(ai, bv[j], acc[r * 4u + j]);\n        }\n      }\n    }\n  }\n\n  // A NaN (quiet, payload = the actual size) in every output if the subgroup size is not LANES.\n  let wrongSize = lanes != LANES;\n  for (var r = 0u; r < BLOCK_M; r++) {\n    let row = m0 + r;\n    if (row >= p.M) {\n      break;\n    }\n    for (var j = 0u; j < COLS; j++) {\n      let col = n0 + j * LANES + lane;\n      if (col < p.N) {\n        var x = acc[r * 4u + j];\n        if (HAS_BIAS) {\n          x += bias[col];\n        }\n        if (RELU) {\n          x = max(x, 0.0);\n        }\n        c[row * p.N + col] = select(x, bitcast<f32>(0x7fc00000u | lanes), wrongSize);\n      }\n    }\n  }\n}\n";

// src/kernels/gemm.ts
function cpuAdapterLanes(gpu) {
  const a = gpu.adapter;
  const text = `${a.vendor} ${a.architecture} ${a.device} ${a.description}`.toLowerCase();
  if (!/llvmpipe|lavapipe|swiftshader|softpipe|software/.test(text)) return null;
  const bits = /(\d+)-bits/.exec(text);
  return bits ? Number(bits[1]) / 32 : 0;
}
function gemmKernel(gpu) {
  const lanes = cpuAdapterLanes(gpu);
  if (lanes === null) return "tiled";
  return gpu.device.features.has("subgroups") && [4, 8, 16].includes(lanes) ? "subgroup" : "direct";
}
function gemmConfig(gpu, M, N) {
  const kernel = gemmKernel(gpu);
  if (kernel === "subgroup") {
    const lanes = cpuAdapterLanes(gpu);
    const cols = N <= lanes ? 1 : N <= 2 * lanes ? 2 : 4;
    const rowGroups = Math.max(1, Math.min(Math.ceil(M / lanes), Math.floor(16 / lanes) || 1));
    return { kernel, lanes, rowGroups, cols };
  }
  if (kernel === "direct") {
    const vecs = M >= 64 && N >= 64 ? 2 : 1;
    return { kernel, wgX: 8, wgY: 8, rowVecs: vecs, colVecs: vecs, tileK: 4 };
  }
  const tiles = (t) => Math.ceil(M / t) * Math.ceil(N / t);
  const slabBytes = (c) => c.tileK * (4 * c.rowVecs * c.wgY + 4 + 4 * c.colVecs * c.wgX + 4) * 4;
  const big = { kernel, wgX: 16, wgY: 16, rowVecs: 2, colVecs: 2, tileK: 8 };
  const medium = { kernel, wgX: 16, wgY: 16, rowVecs: 1, colVecs: 1, tileK: 16 };
  const small = { kernel, wgX: 8, wgY: 8, rowVecs: 1, colVecs: 1, tileK: 16 };
  const maxBytes = gpu.device.limits.maxComputeWorkgroupStorageSize;
  if (tiles(128) >= 192 && slabBytes(big) <= maxBytes) return big;
  if (tiles(64) >= 64 && slabBytes(medium) <= maxBytes) return medium;
  return small;
}
function gemm2(rt, a, b, o) {
  return gemmWithConfig(rt, a, b, o, gemmConfig(rt.gpu, o.M, o.N));
}
function gemmWithConfig(rt, a, b, o, cfg) {
  const { M, N, K } = o;
  const out = allocate(rt, M * N, "gemm.out");
  if (M === 0 || N === 0) return out;
  const flags = {
    TRANS_A: o.transA ? 1 : 0,
    TRANS_B: o.transB ? 1 : 0,
    HAS_BIAS: o.bias ? 1 : 0,
    RELU: o.activation === "relu" ? 1 : 0
  };
  let tileM;
  let tileN;
  let launch;
  if (cfg.kernel === "subgroup") {
    tileM = cfg.rowGroups * cfg.lanes;
    tileN = cfg.cols * cfg.lanes;
    launch = {
      shader: gemm_subgroup_default,
      entryPoint: "gemm_subgroup",
      constants: { LANES: cfg.lanes, ROW_GROUPS: cfg.rowGroups, COLS: cfg.cols, ...flags }
    };
  } else {
    tileM = 4 * cfg.rowVecs * cfg.wgY;
    tileN = 4 * cfg.colVecs * cfg.wgX;
    const tiles = { WG_X: cfg.wgX, WG_Y: cfg.wgY, ROW_VECS: cfg.rowVecs, COL_VECS: cfg.colVecs };
    launch = cfg.kernel === "tiled" ? { shader: gemm_default, entryPoint: "gemm_tiled", constants: { ...tiles, TILE_K: cfg.tileK, ...flags } } : { shader: gemm_default, entryPoint: "gemm_direct", constants: { ...tiles, ...flags } };
  }
  const colTiles = Math.ceil(N / tileN);
  const rowTiles = Math.ceil(M / tileM);
  if (colTiles > 65535) throw new Error(`gemm: N=${N} needs ${colTiles} column workgroups, over the 65535 limit`);
  const z = Math.ceil(rowTiles / 65535);
  const y = Math.ceil(rowTiles / z);
  const ga = gpuStorage(a).buffer;
  const gb = gpuStorage(b).buffer;
  const aShape = o.transA ? `[${K},${M}]\u1D40` : `[${M},${K}]`;
  const bShape = o.transB ? `[${N},${K}]\u1D40` : `[${K},${N}]`;
  rt.dispatch({
    kernel: `gemm.${cfg.kernel}`,
    shapes: `A${aShape} B${bShape}${o.bias ? ` bias[${N}]` : ""}${o.activation ? ` ${o.activation}` : ""}`,
    ...launch,
    params: new Params().u32(M, N, K),
    // Without a bias, A stands in at binding 3 (read-only twice is allowed); the shader never reads it.
    buffers: [ga, gb, o.bias ? gpuStorage(o.bias).buffer : ga, out.buffer],
    workgroups: [colTiles, y, z]
  });
  return out;
}

// shaders/normalization-apply.wgsl
var normalization_apply_default = "// Batch-norm application: y = (x \u2212 mean[c]) \xB7 scale[c] + beta[c], scale = gamma / sqrt(variance + eps), x and y\n// [N, C, L]. Two ways to cover the tensor, the same arithmetic:\n//   rows: for long rows. Workgroup (b, r) covers block b of row r = n\xB7C + c (r = wg.y + wg.z\xB7nwg.y), thread t takes\n//         l = b\xB7WG\xB7ITEMS + t + k\xB7WG for k < ITEMS (coalesced). The channel is the same for the whole workgroup, so its\n//         four parameters are read once per thread rather than once per element.\n//   flat: for short rows (L = 1 for [N, C] inputs). Workgroup g (g = wg.x + wg.y\xB7nwg.x, the grid1d fold) covers\n//         elements [g\xB7WG\xB7ITEMS, +WG\xB7ITEMS) with the same coalesced stride; c = (i / L) % C is divided out once per\n//         thread and then carried along (a step of WG moves l by stepL and c by stepC, plus a carry), which spares\n//         the integer divisions that CPU drivers run one lane at a time.\n\nstruct Params {\n  N: u32,\n  C: u32,\n  L: u32,\n  stepL: u32, // flat: WG % L\n  stepC: u32, // flat: (WG / L) % C\n  eps: f32,\n}\n\noverride WG: u32 = 64;\noverride ITEMS: u32 = 16;\n\n@group(0) @binding(0) var<uniform> p: Params;\n@group(0) @binding(1) var<storage, read> x: array<f32>;\n@group(0) @binding(2) var<storage, read> mean: array<f32>;\n@group(0) @binding(3) var<storage, read> variance: array<f32>;\n@group(0) @binding(4) var<storage, read> gamma: array<f32>;\n@group(0) @binding(5) var<storage, read> beta: array<f32>;\n@group(0) @binding(6) var<storage, read_write> y: array<f32>;\n\nfn scaleOf(c: u32) -> f32 {\n  return gamma[c] * inverseSqrt(variance[c] + p.eps);\n}\n\n@compute @workgroup_size(WG)\nfn rows(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let r = wg.y + wg.z * nwg.y;\n  if (r >= p.N * p.C) {\n    return;\n  }\n  let c = r % p.C;\n  let m = mean[c];\n  let scale = scaleOf(c);\n  let shift = beta[c];\n  let base = r * p.L;\n  let first = wg.x * WG * ITEMS + t;\n  for (var k = 0u; k < ITEMS; k++) {\n    let l = first + k * WG;\n    if (l < p.L) {\n      y[base + l] = (x[base + l] - m) * scale + shift;\n    }\n  }\n}\n\n@compute @workgroup_size(WG)\nfn flat(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let total = p.N * p.C * p.L;\n  var i = (wg.x + wg.y * nwg.x) * WG * ITEMS + t;\n  let row = i / p.L;\n  var l = i - row * p.L;\n  var c = row % p.C;\n  for (var k = 0u; k < ITEMS; k++) {\n    if (i < total) {\n      y[i] = (x[i] - mean[c]) * scaleOf(c) + beta[c];\n    }\n    i += WG;\n    l += p.stepL;\n    c += p.stepC;\n    if (l >= p.L) {\n      l -= p.L;\n      c += 1u;\n    }\n    if (c >= p.C) {\n      c -= p.C;\n    }\n  }\n}\n";

// shaders/normalization-backward.wgsl
var normalization_backward_default = "// Batch-norm backward in training mode, x and dy [N, C, L], M = N\xB7L values per channel, x\u0302 = (x \u2212 mean)\xB7invStd:\n//   dbeta[c] = \u03A3 dy,  dgamma[c] = \u03A3 dy\xB7x\u0302,  dx = gamma\xB7invStd \xB7 (dy \u2212 (dbeta + x\u0302\xB7dgamma) / M).\n// dbeta and dgamma, for long channels in two passes (split like normalization-stats.wgsl):\n//   partial: workgroup (k, c) sums dy and dy\xB7(x \u2212 mean) over chunk k of channel c; writes\n//            partials[c, k] = (\u03A3 dy, \u03A3 dy\xB7(x \u2212 mean)).\n//   finish:  a thread per channel adds up its partials; writes dbeta[c] and dgamma[c].\n// and for short channels in one:\n//   direct:  a thread per channel sums all of it.\n// then dx:\n//   inputGradientRows / inputGradientFlat: dx, covering the tensor like `rows` / `flat` of normalization-apply.wgsl.\n\nstruct Params {\n  N: u32,\n  C: u32,\n  L: u32,\n  chunk: u32,  // channel elements per `partial` workgroup (a multiple of WG)\n  chunks: u32, // partials per channel\n  stepN: u32,  // partial: WG / L\n  stepL: u32,  // partial and inputGradientFlat: WG % L\n  stepC: u32,  // inputGradientFlat: (WG / L) % C\n  eps: f32,\n}\n\noverride WG: u32 = 64; // a power of two for `partial`\noverride ITEMS: u32 = 16; // elements per thread in the inputGradient passes\n\n@group(0) @binding(0) var<uniform> p: Params;\n\n// Bindings of `partial`.\n@group(0) @binding(1) var<storage, read> x: array<f32>;\n@group(0) @binding(2) var<storage, read> dy: array<f32>;\n@group(0) @binding(3) var<storage, read> mean: array<f32>;\n@group(0) @binding(4) var<storage, read_write> partials: array<f32>;\n\n// Bindings of `finish`.\n@group(0) @binding(1) var<storage, read> finishPartials: array<f32>;\n@group(0) @binding(2) var<storage, read> finishVariance: array<f32>;\n@group(0) @binding(3) var<storage, read_write> dgammaOut: array<f32>;\n@group(0) @binding(4) var<storage, read_write> dbetaOut: array<f32>;\n\n// Bindings of `direct` (x, dy and mean as for `partial`).\n@group(0) @binding(4) var<storage, read> directVariance: array<f32>;\n@group(0) @binding(5) var<storage, read_write> directDgamma: array<f32>;\n@group(0) @binding(6) var<storage, read_write> directDbeta: array<f32>;\n\n// Bindings of the inputGradient passes (x, dy and mean as for `partial`).\n@group(0) @binding(4) var<storage, read> variance: array<f32>;\n@group(0) @binding(5) var<storage, read> gamma: array<f32>;\n@group(0) @binding(6) var<storage, read> dgamma: array<f32>;\n@group(0) @binding(7) var<storage, read> dbeta: array<f32>;\n@group(0) @binding(8) var<storage, read_write> dx: array<f32>;\n\nvar<workgroup> sharedDy: array<f32, WG>;\nvar<workgroup> sharedDyXc: array<f32, WG>;\n\n/** Tree-sums every thread's pair; the result is valid in thread 0. */\nfn reducePair(t: u32, own: vec2f) -> vec2f {\n  var acc = own;\n  sharedDy[t] = acc.x;\n  sharedDyXc[t] = acc.y;\n  for (var s = WG / 2u; s > 0u; s >>= 1u) {\n    workgroupBarrier();\n    if (t < s) {\n      acc += vec2f(sharedDy[t + s], sharedDyXc[t + s]);\n      sharedDy[t] = acc.x;\n      sharedDyXc[t] = acc.y;\n    }\n  }\n  return acc;\n}\n\n@compute @workgroup_size(WG)\nfn partial(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let c = wg.y + wg.z * nwg.y;\n  if (c >= p.C) {\n    return;\n  }\n  let start = wg.x * p.chunk;\n  let end = min(start + p.chunk, p.N * p.L);\n  let rowStride = p.C * p.L;\n  let channelOffset = c * p.L;\n  let m = mean[c];\n\n  var own = vec2f(0.0);\n  var j = start + t;\n  var n = j / p.L;\n  var l = j - n * p.L;\n  for (; j < end; j += WG) {\n    let i = n * rowStride + channelOffset + l;\n    let g = dy[i];\n    own += vec2f(g, g * (x[i] - m));\n    l += p.stepL;\n    n += p.stepN;\n    if (l >= p.L) {\n      l -= p.L;\n      n += 1u;\n    }\n  }\n\n  let total = reducePair(t, own);\n  if (t == 0u) {\n    let o = (c * p.chunks + wg.x) * 2u;\n    partials[o] = total.x;\n    partials[o + 1u] = total.y;\n  }\n}\n\n@compute @workgroup_size(WG)\nfn finish(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let c = gid.x + gid.y * nwg.x * WG;\n  if (c >= p.C) {\n    return;\n  }\n  var total = vec2f(0.0);\n  for (var k = 0u; k < p.chunks; k++) {\n    let o = (c * p.chunks + k) * 2u;\n    total += vec2f(finishPartials[o], finishPartials[o + 1u]);\n  }\n  dbetaOut[c] = total.x;\n  dgammaOut[c] = total.y * inverseSqrt(finishVariance[c] + p.eps);\n}\n\n@compute @workgroup_size(WG)\nfn direct(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let c = gid.x + gid.y * nwg.x * WG;\n  if (c >= p.C) {\n    return;\n  }\n  let m = mean[c];\n  var total = vec2f(0.0);\n  for (var n = 0u; n < p.N; n++) {\n    let base = (n * p.C + c) * p.L;\n    for (var l = 0u; l < p.L; l++) {\n      let g = dy[base + l];\n      total += vec2f(g, g * (x[base + l] - m));\n    }\n  }\n  directDbeta[c] = total.x;\n  directDgamma[c] = total.y * inverseSqrt(directVariance[c] + p.eps);\n}\n\n/** dx = gamma\xB7invStd\xB7(dy \u2212 (dbeta + x\u0302\xB7dgamma)/M) as dx = a\xB7dy + b\xB7(x \u2212 mean) + d, per channel constants. */\nstruct Coefficients {\n  a: f32,\n  b: f32,\n  d: f32,\n}\n\nfn coefficients(c: u32) -> Coefficients {\n  let invStd = inverseSqrt(variance[c] + p.eps);\n  let a = gamma[c] * invStd;\n  let invM = 1.0 / f32(p.N * p.L);\n  return Coefficients(a, -a * invStd * dgamma[c] * invM, -a * dbeta[c] * invM);\n}\n\n@compute @workgroup_size(WG)\nfn inputGradientRows(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let r = wg.y + wg.z * nwg.y;\n  if (r >= p.N * p.C) {\n    return;\n  }\n  let c = r % p.C;\n  let k = coefficients(c);\n  let m = mean[c];\n  let base = r * p.L;\n  let first = wg.x * WG * ITEMS + t;\n  for (var j = 0u; j < ITEMS; j++) {\n    let l = first + j * WG;\n    if (l < p.L) {\n      let i = base + l;\n      dx[i] = k.a * dy[i] + k.b * (x[i] - m) + k.d;\n    }\n  }\n}\n\n@compute @workgroup_size(WG)\nfn inputGradientFlat(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let total = p.N * p.C * p.L;\n  var i = (wg.x + wg.y * nwg.x) * WG * ITEMS + t;\n  let row = i / p.L;\n  var l = i - row * p.L;\n  var c = row % p.C;\n  for (var j = 0u; j < ITEMS; j++) {\n    if (i < total) {\n      let k = coefficients(c);\n      dx[i] = k.a * dy[i] + k.b * (x[i] - mean[c]) + k.d;\n    }\n    i += WG;\n    l += p.stepL;\n    c += p.stepC;\n    if (l >= p.L) {\n      l -= p.L;\n      c += 1u;\n    }\n    if (c >= p.C) {\n      c -= p.C;\n    }\n  }\n}\n";

// shaders/normalization-stats.wgsl
var normalization_stats_default = "// Batch-norm statistics: per-channel mean and biased variance of x [N, C, L] over the M = N\xB7L values\n// x[n, c, l] of each channel, stable in float32 (Welford's update within a thread, Chan's merge between threads).\n// For long channels, two passes:\n//   partial: workgroup (k, c) walks chunk k of channel c (channel-element j = n\xB7L + l, coalesced: thread t takes\n//            j = start + t, + WG, ...), then tree-merges its threads' moments; writes partials[c, k] = (count, mean, M2).\n//            Channels beyond 65535 fold into workgroup_id.z: c = wg.y + wg.z\xB7nwg.y.\n//   finish:  a thread per channel merges the channel's `chunks` partials; writes mean[c] and variance[c] = M2 / count.\n// For short channels, one:\n//   direct:  a thread per channel walks all of it (no barriers, no partials).\n// `finish` and `direct` find their channel as c = gid.x + gid.y\xB7nwg.x\xB7WG (the grid1d fold).\n\nstruct Params {\n  N: u32,\n  C: u32,\n  L: u32,\n  chunk: u32,  // channel elements per `partial` workgroup (a multiple of WG)\n  chunks: u32, // partials per channel\n  stepN: u32,  // WG / L: walking j by WG moves n by stepN and l by stepL (plus a carry)\n  stepL: u32,  // WG % L\n}\n\noverride WG: u32 = 64; // a power of two for `partial`\n\n@group(0) @binding(0) var<uniform> p: Params;\n\n// Bindings of `partial`.\n@group(0) @binding(1) var<storage, read> x: array<f32>;\n@group(0) @binding(2) var<storage, read_write> partials: array<f32>;\n\n// Bindings of `finish` (entry points that never run together may share binding numbers); `direct` binds x, mean\n// and variance.\n@group(0) @binding(1) var<storage, read> finishPartials: array<f32>;\n@group(0) @binding(2) var<storage, read_write> mean: array<f32>;\n@group(0) @binding(3) var<storage, read_write> variance: array<f32>;\n\nstruct Moments {\n  count: f32,\n  mean: f32,\n  m2: f32, // \u03A3 (x \u2212 mean)\xB2\n}\n\n/** Chan et al.'s pairwise combination of two sets' moments. */\nfn merge(a: Moments, b: Moments) -> Moments {\n  let count = a.count + b.count;\n  if (b.count == 0.0) {\n    return a;\n  }\n  let d = b.mean - a.mean;\n  let fb = b.count / count;\n  return Moments(count, a.mean + d * fb, a.m2 + b.m2 + d * d * a.count * fb);\n}\n\nvar<workgroup> sharedCount: array<f32, WG>;\nvar<workgroup> sharedMean: array<f32, WG>;\nvar<workgroup> sharedM2: array<f32, WG>;\n\n/** Tree-merges every thread's moments; the result is valid in thread 0. */\nfn reduceMoments(t: u32, own: Moments) -> Moments {\n  var acc = own;\n  sharedCount[t] = acc.count;\n  sharedMean[t] = acc.mean;\n  sharedM2[t] = acc.m2;\n  for (var s = WG / 2u; s > 0u; s >>= 1u) {\n    workgroupBarrier();\n    if (t < s) {\n      acc = merge(acc, Moments(sharedCount[t + s], sharedMean[t + s], sharedM2[t + s]));\n      sharedCount[t] = acc.count;\n      sharedMean[t] = acc.mean;\n      sharedM2[t] = acc.m2;\n    }\n  }\n  return acc;\n}\n\n@compute @workgroup_size(WG)\nfn partial(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let c = wg.y + wg.z * nwg.y;\n  if (c >= p.C) {\n    return;\n  }\n  let start = wg.x * p.chunk;\n  let end = min(start + p.chunk, p.N * p.L);\n  let rowStride = p.C * p.L;\n  let channelOffset = c * p.L;\n\n  var own = Moments(0.0, 0.0, 0.0);\n  var j = start + t;\n  var n = j / p.L;\n  var l = j - n * p.L;\n  for (; j < end; j += WG) {\n    let v = x[n * rowStride + channelOffset + l];\n    own.count += 1.0;\n    let d = v - own.mean;\n    own.mean += d / own.count;\n    own.m2 += d * (v - own.mean);\n    l += p.stepL;\n    n += p.stepN;\n    if (l >= p.L) {\n      l -= p.L;\n      n += 1u;\n    }\n  }\n\n  let total = reduceMoments(t, own);\n  if (t == 0u) {\n    let o = (c * p.chunks + wg.x) * 3u;\n    partials[o] = total.count;\n    partials[o + 1u] = total.mean;\n    partials[o + 2u] = total.m2;\n  }\n}\n\n@compute @workgroup_size(WG)\nfn finish(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let c = gid.x + gid.y * nwg.x * WG;\n  if (c >= p.C) {\n    return;\n  }\n  var total = Moments(0.0, 0.0, 0.0);\n  for (var k = 0u; k < p.chunks; k++) {\n    let o = (c * p.chunks + k) * 3u;\n    total = merge(total, Moments(finishPartials[o], finishPartials[o + 1u], finishPartials[o + 2u]));\n  }\n  mean[c] = total.mean;\n  variance[c] = max(total.m2 / total.count, 0.0);\n}\n\n@compute @workgroup_size(WG)\nfn direct(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let c = gid.x + gid.y * nwg.x * WG;\n  if (c >= p.C) {\n    return;\n  }\n  var count = 0.0;\n  var m = 0.0;\n  var m2 = 0.0;\n  for (var n = 0u; n < p.N; n++) {\n    let base = (n * p.C + c) * p.L;\n    for (var l = 0u; l < p.L; l++) {\n      let v = x[base + l];\n      count += 1.0;\n      let d = v - m;\n      m += d / count;\n      m2 += d * (v - m);\n    }\n  }\n  mean[c] = m;\n  variance[c] = max(m2 / count, 0.0);\n}\n";

// src/kernels/normalization.ts
var REDUCE_WG = 64;
var CHANNEL_WG = 64;
var DIRECT_MAX_M = 1024;
var ELEMENT_WG = 64;
var ELEMENT_ITEMS = 16;
var ROWS_MIN_L = 256;
var TARGET_GROUPS = 256;
var MIN_CHUNK2 = REDUCE_WG * 32;
function plan(shape) {
  const [N, C, L] = shape;
  const M = N * L;
  const wanted = Math.ceil(TARGET_GROUPS / C);
  let chunk = Math.max(MIN_CHUNK2, Math.ceil(M / wanted));
  chunk = Math.ceil(chunk / REDUCE_WG) * REDUCE_WG;
  return {
    N,
    C,
    L,
    chunk,
    chunks: Math.max(1, Math.ceil(M / chunk)),
    direct: M <= DIRECT_MAX_M,
    channelGrid: grid1d(C, 1),
    shapes: `x[${N},${C},${L}]`
  };
}
function channelSteps(L, wg) {
  return [Math.floor(wg / L), wg % L];
}
function elementwise(N, C, L) {
  if (L >= ROWS_MIN_L) {
    const items = Math.min(ELEMENT_ITEMS, 2 ** Math.ceil(Math.log2(Math.ceil(L / ELEMENT_WG))));
    return {
      suffix: "Rows",
      constants: { WG: ELEMENT_WG, ITEMS: items },
      workgroups: [Math.ceil(L / (ELEMENT_WG * items)), ...grid1d(N * C, 1)],
      steps: [0, 0]
    };
  }
  return {
    suffix: "Flat",
    constants: { WG: ELEMENT_WG, ITEMS: ELEMENT_ITEMS },
    workgroups: grid1d(N * C * L, ELEMENT_WG * ELEMENT_ITEMS),
    steps: [ELEMENT_WG % L, Math.floor(ELEMENT_WG / L) % C]
  };
}
function batchNormStats2(rt, x, shape) {
  const pl = plan(shape);
  const { N, C, L, chunk, chunks } = pl;
  const mean2 = allocate(rt, C, "batchnorm.mean");
  const variance = allocate(rt, C, "batchnorm.variance");
  const perChannel = {
    kernel: "batchNormStats.direct",
    shapes: pl.shapes,
    shader: normalization_stats_default,
    constants: { WG: CHANNEL_WG },
    params: new Params().u32(N, C, L, chunk, chunks, 0, 0),
    workgroups: grid1d(C, CHANNEL_WG)
  };
  if (pl.direct) {
    rt.dispatch({ ...perChannel, entryPoint: "direct", buffers: [gpuStorage(x).buffer, mean2.buffer, variance.buffer] });
    return { mean: mean2, variance };
  }
  const partials = allocate(rt, C * chunks * 3, "batchnorm.partials");
  rt.dispatch({
    kernel: "batchNormStats.partial",
    shapes: pl.shapes,
    shader: normalization_stats_default,
    entryPoint: "partial",
    constants: { WG: REDUCE_WG },
    params: new Params().u32(N, C, L, chunk, chunks, ...channelSteps(L, REDUCE_WG)),
    buffers: [gpuStorage(x).buffer, partials.buffer],
    workgroups: [chunks, ...pl.channelGrid]
  });
  rt.dispatch({ ...perChannel, kernel: "batchNormStats.finish", entryPoint: "finish", buffers: [partials.buffer, mean2.buffer, variance.buffer] });
  rt.release(partials.buffer);
  return { mean: mean2, variance };
}
function batchNormApply2(rt, x, shape, mean2, variance, gamma, beta, eps) {
  const [N, C, L] = shape;
  const y = allocate(rt, N * C * L, "batchnorm.y");
  const cover = elementwise(N, C, L);
  rt.dispatch({
    kernel: "batchNormApply",
    shapes: `x[${N},${C},${L}]`,
    shader: normalization_apply_default,
    entryPoint: cover.suffix === "Rows" ? "rows" : "flat",
    constants: cover.constants,
    params: new Params().u32(N, C, L, ...cover.steps).f32(eps),
    buffers: [x, mean2, variance, gamma, beta].map((s) => gpuStorage(s).buffer).concat(y.buffer),
    workgroups: cover.workgroups
  });
  return y;
}
function batchNormBackward2(rt, x, dy, shape, mean2, variance, gamma, eps) {
  const pl = plan(shape);
  const { N, C, L, chunk, chunks } = pl;
  const [xb, dyb, meanb, varb, gammab] = [x, dy, mean2, variance, gamma].map((s) => gpuStorage(s).buffer);
  const dgamma = allocate(rt, C, "batchnorm.dgamma");
  const dbeta = allocate(rt, C, "batchnorm.dbeta");
  const dx = allocate(rt, N * C * L, "batchnorm.dx");
  const params = (stepN, stepL, stepC) => new Params().u32(N, C, L, chunk, chunks, stepN, stepL, stepC).f32(eps);
  const perChannel = { shapes: pl.shapes, shader: normalization_backward_default, constants: { WG: CHANNEL_WG }, params: params(0, 0, 0), workgroups: grid1d(C, CHANNEL_WG) };
  if (pl.direct) {
    rt.dispatch({ ...perChannel, kernel: "batchNormBackward.direct", entryPoint: "direct", buffers: [xb, dyb, meanb, varb, dgamma.buffer, dbeta.buffer] });
  } else {
    const partials = allocate(rt, C * chunks * 2, "batchnorm.backwardPartials");
    rt.dispatch({
      kernel: "batchNormBackward.partial",
      shapes: pl.shapes,
      shader: normalization_backward_default,
      entryPoint: "partial",
      constants: { WG: REDUCE_WG },
      params: params(...channelSteps(L, REDUCE_WG), 0),
      buffers: [xb, dyb, meanb, partials.buffer],
      workgroups: [chunks, ...pl.channelGrid]
    });
    rt.dispatch({ ...perChannel, kernel: "batchNormBackward.finish", entryPoint: "finish", buffers: [partials.buffer, varb, dgamma.buffer, dbeta.buffer] });
    rt.release(partials.buffer);
  }
  const cover = elementwise(N, C, L);
  rt.dispatch({
    kernel: "batchNormBackward.inputGradient",
    shapes: pl.shapes,
    shader: normalization_backward_default,
    entryPoint: `inputGradient${cover.suffix}`,
    constants: cover.constants,
    params: params(0, ...cover.steps),
    buffers: [xb, dyb, meanb, varb, gammab, dgamma.buffer, dbeta.buffer, dx.buffer],
    workgroups: cover.workgroups
  });
  return { dx, dgamma, dbeta };
}

// shaders/optim.wgsl
var optim_default = "// The optimiser step and the dropout mask: flat elementwise kernels. Workgroup g (g = wg.x + wg.y\xB7nwg.x, the grid1d\n// fold) covers elements [g\xB7WG\xB7ITEMS, +WG\xB7ITEMS); thread t takes i = g\xB7WG\xB7ITEMS + t + k\xB7WG for k < ITEMS.\n//   adamStep:    in place on param, m, v (torch.optim.AdamW): param \u2212= lr\xB7weightDecay\xB7param, then\n//                m = \u03B21\xB7m + (1\u2212\u03B21)\xB7g,  v = \u03B22\xB7v + (1\u2212\u03B22)\xB7g\xB2,  param \u2212= lr\xB7(m/c1) / (sqrt(v/c2) + eps),\n//                with the bias corrections c1 = 1 \u2212 \u03B21^step, c2 = 1 \u2212 \u03B22^step computed on the CPU.\n//   dropoutMask: mask[i] = 1/(1\u2212p) where u_i >= p, else 0, with u_i = (hash(hash(i) ^ hash(seed ^ 0x9e3779b9)) >> 8)\n//                / 2^24 \u2208 [0, 1) and hash = lowbias32: deterministic in (seed, i), and the same bit for bit as\n//                the CPU reference (src/engine/cpu/optim.ts).\n\nstruct AdamParams {\n  n: u32,\n  lr: f32,\n  beta1: f32,\n  beta2: f32,\n  eps: f32,\n  weightDecay: f32,\n  correction1: f32,\n  correction2: f32,\n}\n\nstruct DropoutParams {\n  n: u32,\n  seed: u32,\n  p: f32,\n  scale: f32, // 1/(1\u2212p), rounded to float32 on the CPU\n}\n\noverride WG: u32 = 64;\noverride ITEMS: u32 = 16;\n\n// Bindings of `adamStep`.\n@group(0) @binding(0) var<uniform> adam: AdamParams;\n@group(0) @binding(1) var<storage, read_write> param: array<f32>;\n@group(0) @binding(2) var<storage, read> grad: array<f32>;\n@group(0) @binding(3) var<storage, read_write> m: array<f32>;\n@group(0) @binding(4) var<storage, read_write> v: array<f32>;\n\n// Bindings of `dropoutMask` (entry points that never run together may share binding numbers).\n@group(0) @binding(0) var<uniform> dropout: DropoutParams;\n@group(0) @binding(1) var<storage, read_write> mask: array<f32>;\n\nfn firstIndex(t: u32, wg: vec3u, nwg: vec3u) -> u32 {\n  return (wg.x + wg.y * nwg.x) * WG * ITEMS + t;\n}\n\n@compute @workgroup_size(WG)\nfn adamStep(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  var i = firstIndex(t, wg, nwg);\n  for (var k = 0u; k < ITEMS && i < adam.n; k++) {\n    let g = grad[i];\n    let mi = adam.beta1 * m[i] + (1.0 - adam.beta1) * g;\n    let vi = adam.beta2 * v[i] + (1.0 - adam.beta2) * g * g;\n    let decayed = param[i] - adam.lr * adam.weightDecay * param[i];\n    param[i] = decayed - adam.lr * (mi / adam.correction1) / (sqrt(vi / adam.correction2) + adam.eps);\n    m[i] = mi;\n    v[i] = vi;\n    i += WG;\n  }\n}\n\n/** lowbias32 (Chris Wellons): a well-mixed bijection of u32. */\nfn hash(x0: u32) -> u32 {\n  var x = x0;\n  x ^= x >> 16u;\n  x *= 0x7feb352du;\n  x ^= x >> 15u;\n  x *= 0x846ca68bu;\n  x ^= x >> 16u;\n  return x;\n}\n\n@compute @workgroup_size(WG)\nfn dropoutMask(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let key = hash(dropout.seed ^ 0x9e3779b9u);\n  var i = firstIndex(t, wg, nwg);\n  for (var k = 0u; k < ITEMS && i < dropout.n; k++) {\n    let u = f32(hash(hash(i) ^ key) >> 8u) * (1.0 / 16777216.0);\n    mask[i] = select(0.0, dropout.scale, u >= dropout.p);\n    i += WG;\n  }\n}\n";

// src/kernels/optim.ts
var WG3 = 64;
var ITEMS = 16;
function adamStep2(rt, param, grad, m, v, o) {
  const n = param.length;
  rt.dispatch({
    kernel: "adamStep",
    shapes: `param[${n}]`,
    shader: optim_default,
    entryPoint: "adamStep",
    constants: { WG: WG3, ITEMS },
    params: new Params().u32(n).f32(o.lr, o.beta1, o.beta2, o.eps, o.weightDecay, 1 - o.beta1 ** o.step, 1 - o.beta2 ** o.step),
    buffers: [param, grad, m, v].map((s) => gpuStorage(s).buffer),
    workgroups: grid1d(n, WG3 * ITEMS)
  });
}
function dropoutMask2(rt, length, p, seed) {
  const mask = allocate(rt, length, "dropout.mask");
  const scale = p < 1 ? Math.fround(1 / (1 - p)) : 0;
  rt.dispatch({
    kernel: "dropoutMask",
    shapes: `mask[${length}]`,
    shader: optim_default,
    entryPoint: "dropoutMask",
    constants: { WG: WG3, ITEMS },
    params: new Params().u32(length, seed >>> 0).f32(p, scale),
    buffers: [mask.buffer],
    workgroups: grid1d(length, WG3 * ITEMS)
  });
  return mask;
}

// shaders/pool1d-avg.wgsl
var pool1d_avg_default = "// Average pooling over the last axis, forward and backward (torch avg_pool1d, floor mode,\n// count_include_pad = true). x [rows, L] -> y [rows, Lout], rows = N\xB7C. Window j of a row covers positions\n// j\xB7stride \u2212 padding + [0, kernelSize); the padding counts as zeros and every window divides by kernelSize.\n// Threads are numbered across grid1d's 2-D fold, and each does ITEMS_PER_THREAD items so that the row/column\n// split (an integer division) is paid rarely.\n\nstruct Params {\n  L: u32,\n  Lout: u32,\n  segments: u32, // backward: segments per row, ceil((L + padding)/stride)\n  items: u32, // forward: rows\xB7Lout outputs; backward: rows\xB7segments segments\n  kernelSize: i32,\n  stride: i32,\n  padding: i32,\n  windowsPerPosition: i32, // ceil(kernelSize/stride): how many windows can contain one position\n}\n\noverride WORKGROUP_SIZE: u32 = 64u;\noverride ITEMS_PER_THREAD: u32 = 2u;\n// SPECIALIZED pipelines take the pooling parameters from these constants instead of the uniform, so the\n// window loops unroll and the divisions are by constants (worth ~1.3\xD7 on lavapipe); kernels/pool1d.ts\n// specialises the model's hot configuration only, to keep pipeline compilations few.\noverride SPECIALIZED: bool = false;\noverride KERNEL_SIZE: i32 = 1;\noverride STRIDE: i32 = 1;\noverride PADDING: i32 = 0;\n\n@group(0) @binding(0) var<uniform> params: Params;\n@group(0) @binding(1) var<storage, read> input: array<f32>; // x forward, dy backward\n@group(0) @binding(2) var<storage, read_write> output: array<f32>; // y forward, dx backward\n\nfn kernelSize() -> i32 { return select(params.kernelSize, KERNEL_SIZE, SPECIALIZED); }\nfn stride() -> i32 { return select(params.stride, STRIDE, SPECIALIZED); }\nfn padding() -> i32 { return select(params.padding, PADDING, SPECIALIZED); }\nfn windowsPerPosition() -> i32 {\n  return select(params.windowsPerPosition, (KERNEL_SIZE + STRIDE - 1) / STRIDE, SPECIALIZED);\n}\n\nfn threadIndex(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {\n  return gid.x + gid.y * nwg.x * WORKGROUP_SIZE;\n}\n\nfn inRow(t: i32) -> bool {\n  return t >= 0 && t < i32(params.L);\n}\n\n// Whether position t of a window is an input rather than padding (without padding, floor mode keeps every\n// window inside the row).\nfn isInput(t: i32) -> bool {\n  return padding() == 0 || inRow(t);\n}\n\n// One thread per ITEMS_PER_THREAD consecutive outputs of the flattened y.\n@compute @workgroup_size(WORKGROUP_SIZE)\nfn avgPool1d(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {\n  let o0 = threadIndex(gid, nwg) * ITEMS_PER_THREAD;\n  if (o0 >= params.items) { return; }\n  var row = o0 / params.Lout;\n  var j = o0 - row * params.Lout;\n  let count = min(ITEMS_PER_THREAD, params.items - o0);\n  for (var q = 0u; q < count; q++) {\n    let base = i32(row * params.L);\n    let start = i32(j) * stride() - padding();\n    var sum = 0.0;\n    for (var k = 0; k < kernelSize(); k++) {\n      let t = start + k;\n      if (isInput(t)) { sum += input[base + t]; }\n    }\n    output[o0 + q] = sum / f32(kernelSize());\n    j++;\n    if (j == params.Lout) { j = 0u; row++; }\n  }\n}\n\n// One thread per ITEMS_PER_THREAD consecutive segments of dx: segment s of a row is the `stride` positions\n// s\xB7stride \u2212 padding + [0, stride) (clipped to the row), so the segments tile the row and every position is\n// written once by its owner \u2014 no atomics, deterministic. Windows s \u2212 windowsPerPosition + 1 \u2026 s can reach\n// segment s; each position sums dy over those that contain it, in window order, and divides by kernelSize.\n@compute @workgroup_size(WORKGROUP_SIZE)\nfn avgPool1dBackward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {\n  let s0 = threadIndex(gid, nwg) * ITEMS_PER_THREAD;\n  if (s0 >= params.items) { return; }\n  var row = s0 / params.segments;\n  var s = i32(s0 - row * params.segments);\n  let count = min(ITEMS_PER_THREAD, params.items - s0);\n  let Lout = i32(params.Lout);\n  for (var q = 0u; q < count; q++) {\n    let rowBase = i32(row * params.L);\n    let dyBase = i32(row * params.Lout);\n    let segmentStart = s * stride() - padding();\n    if (windowsPerPosition() == 1) {\n      // Non-overlapping windows: window s is the only one reaching segment s, and covers its first\n      // kernelSize positions (none past the last window).\n      var grad = 0.0;\n      if (s < Lout) { grad = input[dyBase + s] / f32(kernelSize()); }\n      for (var u = 0; u < stride(); u++) {\n        let t = segmentStart + u;\n        if (inRow(t)) { output[rowBase + t] = select(0.0, grad, u < kernelSize()); }\n      }\n    } else {\n      for (var u = 0; u < stride(); u++) {\n        let t = segmentStart + u;\n        if (inRow(t)) {\n          var sum = 0.0;\n          for (var c = windowsPerPosition() - 1; c >= 0; c--) {\n            let j = s - c;\n            if (j >= 0 && j < Lout && t - (j * stride() - padding()) < kernelSize()) { sum += input[dyBase + j]; }\n          }\n          output[rowBase + t] = sum / f32(kernelSize());\n        }\n      }\n    }\n    s++;\n    if (s == i32(params.segments)) { s = 0; row++; }\n  }\n}\n";

// shaders/pool1d-max.wgsl
var pool1d_max_default = "// Max pooling over the last axis, forward and backward (torch max_pool1d, floor mode).\n// x [rows, L] -> y [rows, Lout], rows = N\xB7C. Window j of a row covers positions\n// j\xB7stride \u2212 padding + [0, kernelSize), clipped to [0, L): the padding is \u2212inf and never the maximum, as\n// padding \u2264 kernelSize/2 leaves every window at least one input. The backward pass sends each window's dy to\n// its FIRST maximum (torch's CPU tie rule), recomputed from x instead of kept in an index buffer.\n// Threads are numbered across grid1d's 2-D fold, and each does ITEMS_PER_THREAD items so that the row/column\n// split (an integer division) is paid rarely.\n\nstruct Params {\n  L: u32,\n  Lout: u32,\n  segments: u32, // backward: segments per row, ceil((L + padding)/stride)\n  items: u32, // forward: rows\xB7Lout outputs; backward: rows\xB7segments segments\n  kernelSize: i32,\n  stride: i32,\n  padding: i32,\n  windowsPerPosition: i32, // ceil(kernelSize/stride): how many windows can contain one position\n}\n\noverride WORKGROUP_SIZE: u32 = 64u;\noverride ITEMS_PER_THREAD: u32 = 2u;\n// SPECIALIZED pipelines take the pooling parameters from these constants instead of the uniform, so the\n// window loops unroll and the divisions are by constants (worth ~1.3\xD7 on lavapipe); kernels/pool1d.ts\n// specialises the model's hot configuration only, to keep pipeline compilations few.\noverride SPECIALIZED: bool = false;\noverride KERNEL_SIZE: i32 = 1;\noverride STRIDE: i32 = 1;\noverride PADDING: i32 = 0;\n\n@group(0) @binding(0) var<uniform> params: Params;\n@group(0) @binding(1) var<storage, read> x: array<f32>;\n@group(0) @binding(2) var<storage, read_write> output: array<f32>; // y forward, dx backward\n@group(0) @binding(3) var<storage, read> dy: array<f32>;\n\nfn kernelSize() -> i32 { return select(params.kernelSize, KERNEL_SIZE, SPECIALIZED); }\nfn stride() -> i32 { return select(params.stride, STRIDE, SPECIALIZED); }\nfn padding() -> i32 { return select(params.padding, PADDING, SPECIALIZED); }\nfn windowsPerPosition() -> i32 {\n  return select(params.windowsPerPosition, (KERNEL_SIZE + STRIDE - 1) / STRIDE, SPECIALIZED);\n}\n\nfn threadIndex(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {\n  return gid.x + gid.y * nwg.x * WORKGROUP_SIZE;\n}\n\nfn inRow(t: i32) -> bool {\n  return t >= 0 && t < i32(params.L);\n}\n\n// Whether position t of a window is an input rather than padding (without padding, floor mode keeps every\n// window inside the row).\nfn isInput(t: i32) -> bool {\n  return padding() == 0 || inRow(t);\n}\n\n// Row position of the first maximum of window j (strict >, so a tie goes to the earliest position).\nfn windowArgmax(rowBase: i32, j: i32) -> i32 {\n  let start = j * stride() - padding();\n  var best = 0.0;\n  var arg = -1;\n  for (var k = 0; k < kernelSize(); k++) {\n    let t = start + k;\n    if (isInput(t)) {\n      let v = x[rowBase + t];\n      if (arg < 0 || v > best) {\n        best = v;\n        arg = t;\n      }\n    }\n  }\n  return arg;\n}\n\n// One thread per ITEMS_PER_THREAD consecutive outputs of the flattened y.\n@compute @workgroup_size(WORKGROUP_SIZE)\nfn maxPool1d(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {\n  let o0 = threadIndex(gid, nwg) * ITEMS_PER_THREAD;\n  if (o0 >= params.items) { return; }\n  var row = o0 / params.Lout;\n  var j = o0 - row * params.Lout;\n  let count = min(ITEMS_PER_THREAD, params.items - o0);\n  for (var q = 0u; q < count; q++) {\n    let base = i32(row * params.L);\n    let start = i32(j) * stride() - padding();\n    var best = x[base + max(start, 0)];\n    for (var k = 0; k < kernelSize(); k++) {\n      let t = start + k;\n      if (isInput(t)) { best = max(best, x[base + t]); }\n    }\n    output[o0 + q] = best;\n    j++;\n    if (j == params.Lout) { j = 0u; row++; }\n  }\n}\n\n// One thread per ITEMS_PER_THREAD consecutive segments of dx: segment s of a row is the `stride` positions\n// s\xB7stride \u2212 padding + [0, stride) (clipped to the row), so the segments tile the row and a thread writes\n// every position it owns itself \u2014 no atomics, deterministic. The windows that can reach segment s are\n// s \u2212 windowsPerPosition + 1 \u2026 s; each one's first maximum is found once and, if it falls in the segment,\n// receives that window's dy. A position that is the maximum of several overlapping windows gets their sum,\n// added in window order.\n@compute @workgroup_size(WORKGROUP_SIZE)\nfn maxPool1dBackward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {\n  let s0 = threadIndex(gid, nwg) * ITEMS_PER_THREAD;\n  if (s0 >= params.items) { return; }\n  var row = s0 / params.segments;\n  var s = i32(s0 - row * params.segments);\n  let count = min(ITEMS_PER_THREAD, params.items - s0);\n  let Lout = i32(params.Lout);\n  for (var q = 0u; q < count; q++) {\n    let rowBase = i32(row * params.L);\n    let dyBase = i32(row * params.Lout);\n    let segmentStart = s * stride() - padding();\n    if (windowsPerPosition() == 1) {\n      // Non-overlapping windows: window s is the only one reaching segment s (none past the last window).\n      var arg = -1;\n      var grad = 0.0;\n      if (s < Lout) {\n        arg = windowArgmax(rowBase, s);\n        grad = dy[dyBase + s];\n      }\n      for (var u = 0; u < stride(); u++) {\n        let t = segmentStart + u;\n        if (inRow(t)) { output[rowBase + t] = select(0.0, grad, t == arg); }\n      }\n    } else {\n      // Overlapping windows: clear the segment, then add each window's dy at its maximum, in window order.\n      for (var u = 0; u < stride(); u++) {\n        let t = segmentStart + u;\n        if (inRow(t)) { output[rowBase + t] = 0.0; }\n      }\n      for (var c = windowsPerPosition() - 1; c >= 0; c--) {\n        let j = s - c;\n        if (j >= 0 && j < Lout) {\n          let arg = windowArgmax(rowBase, j);\n          if (arg >= segmentStart && arg < segmentStart + stride()) {\n            output[rowBase + arg] += dy[dyBase + j];\n          }\n        }\n      }\n    }\n    s++;\n    if (s == i32(params.segments)) { s = 0; row++; }\n  }\n}\n";

// src/kernels/pool1d.ts
var WORKGROUP_SIZE = 64;
var OUTPUTS_PER_THREAD = 2;
var SEGMENTS_PER_THREAD = 2;
function specialised(p) {
  return p.kernelSize === p.stride && p.padding === 0;
}
function outputLength3(L, p) {
  return Math.floor((L + 2 * p.padding - p.kernelSize) / p.stride) + 1;
}
function pool(rt, c) {
  const [N, C, L] = c.xShape;
  const rows = N * C;
  const Lout = outputLength3(L, c.p);
  const segments = Math.ceil((L + c.p.padding) / c.p.stride);
  const items = c.backward ? rows * segments : rows * Lout;
  const perThread = c.backward ? SEGMENTS_PER_THREAD : OUTPUTS_PER_THREAD;
  const out = allocate(rt, c.backward ? rows * L : rows * Lout, c.kind);
  const [first, ...rest] = c.inputs.map((s) => gpuStorage(s).buffer);
  rt.dispatch({
    kernel: `pool1d.${c.kind}`,
    shapes: `x[${c.xShape.join(",")}] k${c.p.kernelSize} s${c.p.stride} p${c.p.padding}`,
    shader: c.shader,
    entryPoint: c.kind,
    constants: {
      WORKGROUP_SIZE,
      ITEMS_PER_THREAD: perThread,
      ...specialised(c.p) ? { SPECIALIZED: 1, KERNEL_SIZE: c.p.kernelSize, STRIDE: c.p.stride, PADDING: c.p.padding } : {}
    },
    params: new Params().u32(L, Lout, segments, items).i32(c.p.kernelSize, c.p.stride, c.p.padding, Math.ceil(c.p.kernelSize / c.p.stride)),
    // Binding order of both shaders: the first input, the output, then dy (max backward only).
    buffers: [first, out.buffer, ...rest],
    workgroups: grid1d(Math.ceil(items / perThread), WORKGROUP_SIZE)
  });
  return out;
}
function maxPool1d2(rt, x, xShape, p) {
  return pool(rt, { kind: "maxPool1d", shader: pool1d_max_default, xShape, p, inputs: [x], backward: false });
}
function maxPool1dBackward2(rt, x, dy, xShape, p) {
  return pool(rt, { kind: "maxPool1dBackward", shader: pool1d_max_default, xShape, p, inputs: [x, dy], backward: true });
}
function avgPool1d2(rt, x, xShape, p) {
  return pool(rt, { kind: "avgPool1d", shader: pool1d_avg_default, xShape, p, inputs: [x], backward: false });
}
function avgPool1dBackward2(rt, dy, xShape, p) {
  return pool(rt, { kind: "avgPool1dBackward", shader: pool1d_avg_default, xShape, p, inputs: [dy], backward: true });
}

// shaders/softmax-backward.wgsl
var softmax_backward_default = "// Softmax backward over the last dim of [rows, cols], given the forward output y:\n//   dx = y\xB7(dy \u2212 inner),  inner = \u03A3_cols dy\xB7y (per row).\n// Split like shaders/softmax.wgsl: `rows` (a thread per row) and `wide` (a workgroup per row).\n\nstruct Params {\n  rows: u32,\n  cols: u32,\n}\n\noverride WG: u32 = 64; // a power of two for `wide`\n\n@group(0) @binding(0) var<uniform> p: Params;\n@group(0) @binding(1) var<storage, read> y: array<f32>;\n@group(0) @binding(2) var<storage, read> dy: array<f32>;\n@group(0) @binding(3) var<storage, read_write> dx: array<f32>;\n\n@compute @workgroup_size(WG)\nfn rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let r = gid.x + gid.y * nwg.x * WG;\n  if (r >= p.rows) {\n    return;\n  }\n  let o = r * p.cols;\n  var inner = 0.0;\n  for (var j = 0u; j < p.cols; j++) {\n    inner += dy[o + j] * y[o + j];\n  }\n  for (var j = 0u; j < p.cols; j++) {\n    dx[o + j] = y[o + j] * (dy[o + j] - inner);\n  }\n}\n\nvar<workgroup> scratch: array<f32, WG>;\n\n/** The sum of every thread's v, returned to all threads. */\nfn workgroupSum(t: u32, v: f32) -> f32 {\n  scratch[t] = v;\n  for (var s = WG / 2u; s > 0u; s >>= 1u) {\n    workgroupBarrier();\n    if (t < s) {\n      scratch[t] += scratch[t + s];\n    }\n  }\n  workgroupBarrier();\n  return scratch[0];\n}\n\n@compute @workgroup_size(WG)\nfn wide(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let r = wg.x + wg.y * nwg.x;\n  if (r >= p.rows) {\n    return;\n  }\n  let o = r * p.cols;\n  var partial = 0.0;\n  for (var j = t; j < p.cols; j += WG) {\n    partial += dy[o + j] * y[o + j];\n  }\n  let inner = workgroupSum(t, partial);\n  for (var j = t; j < p.cols; j += WG) {\n    dx[o + j] = y[o + j] * (dy[o + j] - inner);\n  }\n}\n";

// shaders/softmax-cross-entropy-backward.wgsl
var softmax_cross_entropy_backward_default = "// Backward of shaders/softmax-cross-entropy.wgsl: with probs [rows, cols] = softmax(logits), targets [rows] (int32),\n// the scalar upstream gradient dloss [1] and optional class weights w [cols],\n//   d logits[r, j] = dloss[0] \xB7 w[t_r]\xB7(probs[r, j] \u2212 (j == t_r)) / \u03A3_r w[t_r]   (w \u2261 1: \u03A3 w = rows).\n//   sumOfWeights:                one workgroup writes weightSum[0] = \u03A3_r w[t_r] (weighted only).\n//   gradient, gradientWeighted:  flat over rows\xB7cols; workgroup g (grid1d fold) covers [g\xB7WG\xB7ITEMS, +WG\xB7ITEMS),\n//                                thread t takes i = g\xB7WG\xB7ITEMS + t + k\xB7WG; (row, col) is divided out once per\n//                                thread and carried along (a step of WG moves row by stepRow, col by stepCol).\n\nstruct Params {\n  rows: u32,\n  cols: u32,\n  stepRow: u32, // WG / cols\n  stepCol: u32, // WG % cols\n}\n\noverride WG: u32 = 64; // a power of two for `sumOfWeights`\noverride ITEMS: u32 = 16;\n\n@group(0) @binding(0) var<uniform> p: Params;\n\n// Bindings of `gradient` and `gradientWeighted` (only the latter reads weights and weightSum).\n@group(0) @binding(1) var<storage, read> probs: array<f32>;\n@group(0) @binding(2) var<storage, read> targets: array<i32>;\n@group(0) @binding(3) var<storage, read> dloss: array<f32>;\n@group(0) @binding(4) var<storage, read_write> dlogits: array<f32>;\n@group(0) @binding(5) var<storage, read> weights: array<f32>;\n@group(0) @binding(6) var<storage, read> weightSum: array<f32>;\n\n// Bindings of `sumOfWeights` (entry points that never run together may share binding numbers).\n@group(0) @binding(1) var<storage, read> sumTargets: array<i32>;\n@group(0) @binding(2) var<storage, read> sumWeights: array<f32>;\n@group(0) @binding(3) var<storage, read_write> weightSumOut: array<f32>;\n\nvar<workgroup> scratch: array<f32, WG>;\n\n@compute @workgroup_size(WG)\nfn sumOfWeights(@builtin(local_invocation_index) t: u32) {\n  var acc = 0.0;\n  for (var r = t; r < p.rows; r += WG) {\n    acc += sumWeights[u32(sumTargets[r])];\n  }\n  scratch[t] = acc;\n  for (var s = WG / 2u; s > 0u; s >>= 1u) {\n    workgroupBarrier();\n    if (t < s) {\n      scratch[t] += scratch[t + s];\n    }\n  }\n  if (t == 0u) {\n    weightSumOut[0] = scratch[0];\n  }\n}\n\n/** A thread's position in the flat walk: element i = row\xB7cols + col. */\nstruct Cursor {\n  i: u32,\n  row: u32,\n  col: u32,\n}\n\nfn firstElement(t: u32, wg: vec3u, nwg: vec3u) -> Cursor {\n  let i = (wg.x + wg.y * nwg.x) * WG * ITEMS + t;\n  let row = i / p.cols;\n  return Cursor(i, row, i - row * p.cols);\n}\n\nfn nextElement(c: Cursor) -> Cursor {\n  var next = Cursor(c.i + WG, c.row + p.stepRow, c.col + p.stepCol);\n  if (next.col >= p.cols) {\n    next.col -= p.cols;\n    next.row += 1u;\n  }\n  return next;\n}\n\n@compute @workgroup_size(WG)\nfn gradient(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let total = p.rows * p.cols;\n  let scale = dloss[0] / f32(p.rows);\n  var e = firstElement(t, wg, nwg);\n  for (var k = 0u; k < ITEMS && e.i < total; k++) {\n    let targetClass = u32(targets[e.row]);\n    dlogits[e.i] = scale * (probs[e.i] - select(0.0, 1.0, e.col == targetClass));\n    e = nextElement(e);\n  }\n}\n\n@compute @workgroup_size(WG)\nfn gradientWeighted(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let total = p.rows * p.cols;\n  let scale = dloss[0] / weightSum[0];\n  var e = firstElement(t, wg, nwg);\n  for (var k = 0u; k < ITEMS && e.i < total; k++) {\n    let targetClass = u32(targets[e.row]);\n    dlogits[e.i] = scale * weights[targetClass] * (probs[e.i] - select(0.0, 1.0, e.col == targetClass));\n    e = nextElement(e);\n  }\n}\n";

// shaders/softmax-cross-entropy.wgsl
var softmax_cross_entropy_default = "// Fused softmax + cross-entropy of logits [rows, cols] against targets [rows] (int32 class indices, already checked\n// to lie in [0, cols)), optionally with class weights w [cols] (torch's `weight`):\n//   loss = \u03A3_r w[t_r]\xB7(logsumexp(x_r) \u2212 x_r[t_r]) / \u03A3_r w[t_r]   (w \u2261 1 without weights: the mean over rows)\n// logsumexp is max-subtracted, so any finite logits give a finite loss.\n//   rows, rowsWeighted: a thread per row (grid1d fold) writes probs = softmax(x) and rowLoss[r] = (w\xB7l, w).\n//   mean:               one workgroup adds up the rows' pairs and writes loss[0] = \u03A3 w\xB7l / \u03A3 w.\n\nstruct Params {\n  rows: u32,\n  cols: u32,\n}\n\noverride WG: u32 = 64; // a power of two for `mean`\n\n@group(0) @binding(0) var<uniform> p: Params;\n\n// Bindings of `rows` and `rowsWeighted` (only the latter reads weights).\n@group(0) @binding(1) var<storage, read> logits: array<f32>;\n@group(0) @binding(2) var<storage, read> targets: array<i32>;\n@group(0) @binding(3) var<storage, read_write> probs: array<f32>;\n@group(0) @binding(4) var<storage, read_write> rowLoss: array<f32>;\n@group(0) @binding(5) var<storage, read> weights: array<f32>;\n\n// Bindings of `mean` (entry points that never run together may share binding numbers).\n@group(0) @binding(1) var<storage, read> meanRowLoss: array<f32>;\n@group(0) @binding(2) var<storage, read_write> loss: array<f32>;\n\n/** log(1 + r) for r >= 0, accurate also for small r, where log(1 + r) would round r away (and drivers' log is only\n * required to be within 2^-21 absolute near 1): the series 2\xB7atanh(z) = 2(z + z\xB3/3 + z\u2075/5 + z\u2077/7), z = r / (2 + r). */\nfn log1p(r: f32) -> f32 {\n  if (r > 0.1) {\n    return log(1.0 + r);\n  }\n  let z = r / (2.0 + r);\n  let z2 = z * z;\n  return 2.0 * z * (1.0 + z2 * (1.0 / 3.0 + z2 * (0.2 + z2 * (1.0 / 7.0))));\n}\n\n/**\n * Writes softmax(x_r) into probs and returns \u2212log p[t_r] = (max \u2212 x_r[t_r]) + log(\u03A3 exp(x \u2212 max)). The sum is 1 (the\n * first maximum's term) plus the others, kept apart, so that a confident row's small loss keeps its digits: both\n * terms of the loss are >= 0 and nothing cancels.\n */\nfn rowCrossEntropy(r: u32, t: u32) -> f32 {\n  let o = r * p.cols;\n  var m = logits[o];\n  var argmax = 0u;\n  for (var j = 1u; j < p.cols; j++) {\n    if (logits[o + j] > m) {\n      m = logits[o + j];\n      argmax = j;\n    }\n  }\n  var others = 0.0;\n  for (var j = 0u; j < p.cols; j++) {\n    let e = exp(logits[o + j] - m);\n    probs[o + j] = e;\n    if (j != argmax) {\n      others += e;\n    }\n  }\n  let inv = 1.0 / (1.0 + others);\n  for (var j = 0u; j < p.cols; j++) {\n    probs[o + j] *= inv;\n  }\n  return (m - logits[o + t]) + log1p(others);\n}\n\n@compute @workgroup_size(WG)\nfn rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let r = gid.x + gid.y * nwg.x * WG;\n  if (r >= p.rows) {\n    return;\n  }\n  rowLoss[2u * r] = rowCrossEntropy(r, u32(targets[r]));\n  rowLoss[2u * r + 1u] = 1.0;\n}\n\n@compute @workgroup_size(WG)\nfn rowsWeighted(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let r = gid.x + gid.y * nwg.x * WG;\n  if (r >= p.rows) {\n    return;\n  }\n  let t = u32(targets[r]);\n  let w = weights[t];\n  rowLoss[2u * r] = w * rowCrossEntropy(r, t);\n  rowLoss[2u * r + 1u] = w;\n}\n\nvar<workgroup> scratch: array<vec2f, WG>;\n\n@compute @workgroup_size(WG)\nfn mean(@builtin(local_invocation_index) t: u32) {\n  var acc = vec2f(0.0);\n  for (var r = t; r < p.rows; r += WG) {\n    acc += vec2f(meanRowLoss[2u * r], meanRowLoss[2u * r + 1u]);\n  }\n  scratch[t] = acc;\n  for (var s = WG / 2u; s > 0u; s >>= 1u) {\n    workgroupBarrier();\n    if (t < s) {\n      scratch[t] += scratch[t + s];\n    }\n  }\n  if (t == 0u) {\n    loss[0] = scratch[0].x / scratch[0].y;\n  }\n}\n";

// shaders/softmax.wgsl
var softmax_default = "// Softmax over the last dim of x [rows, cols] (row-major), max-subtracted: y = exp(x \u2212 max) / \u03A3 exp(x \u2212 max).\n// Two ways to split the work, the same arithmetic:\n//   rows: one thread per row (grid1d over rows: r = gid.x + gid.y\xB7nwg.x\xB7WG); for short rows, no barriers.\n//   wide: one workgroup per row (r = wg.x + wg.y\xB7nwg.x), threads stride over the columns and meet in two tree\n//         reductions (max, then the sum); for long rows.\n// Both write exp(x \u2212 max) into y first and rescale it in place, so exp runs once per element.\n\nstruct Params {\n  rows: u32,\n  cols: u32,\n}\n\noverride WG: u32 = 64; // a power of two for `wide`\n\n@group(0) @binding(0) var<uniform> p: Params;\n@group(0) @binding(1) var<storage, read> x: array<f32>;\n@group(0) @binding(2) var<storage, read_write> y: array<f32>;\n\n@compute @workgroup_size(WG)\nfn rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let r = gid.x + gid.y * nwg.x * WG;\n  if (r >= p.rows) {\n    return;\n  }\n  let o = r * p.cols;\n  var m = x[o];\n  for (var j = 1u; j < p.cols; j++) {\n    m = max(m, x[o + j]);\n  }\n  var s = 0.0;\n  for (var j = 0u; j < p.cols; j++) {\n    let e = exp(x[o + j] - m);\n    y[o + j] = e;\n    s += e;\n  }\n  let inv = 1.0 / s;\n  for (var j = 0u; j < p.cols; j++) {\n    y[o + j] *= inv;\n  }\n}\n\nvar<workgroup> scratch: array<f32, WG>;\n\n/** The maximum of every thread's v, returned to all threads. */\nfn workgroupMax(t: u32, v: f32) -> f32 {\n  scratch[t] = v;\n  for (var s = WG / 2u; s > 0u; s >>= 1u) {\n    workgroupBarrier();\n    if (t < s) {\n      scratch[t] = max(scratch[t], scratch[t + s]);\n    }\n  }\n  workgroupBarrier();\n  let result = scratch[0];\n  workgroupBarrier(); // before anyone overwrites scratch[0] again\n  return result;\n}\n\n/** The sum of every thread's v, returned to all threads. */\nfn workgroupSum(t: u32, v: f32) -> f32 {\n  scratch[t] = v;\n  for (var s = WG / 2u; s > 0u; s >>= 1u) {\n    workgroupBarrier();\n    if (t < s) {\n      scratch[t] += scratch[t + s];\n    }\n  }\n  workgroupBarrier();\n  let result = scratch[0];\n  workgroupBarrier();\n  return result;\n}\n\n@compute @workgroup_size(WG)\nfn wide(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {\n  let r = wg.x + wg.y * nwg.x;\n  if (r >= p.rows) {\n    return;\n  }\n  let o = r * p.cols;\n  var m = -0x1.fffffep+127f; // the lowest float32\n  for (var j = t; j < p.cols; j += WG) {\n    m = max(m, x[o + j]);\n  }\n  m = workgroupMax(t, m);\n  var s = 0.0;\n  for (var j = t; j < p.cols; j += WG) {\n    let e = exp(x[o + j] - m);\n    y[o + j] = e;\n    s += e;\n  }\n  let inv = 1.0 / workgroupSum(t, s);\n  for (var j = t; j < p.cols; j += WG) {\n    y[o + j] *= inv;\n  }\n}\n";

// src/kernels/softmax.ts
var ROWS_WG = 64;
var WIDE_WG = 64;
var REDUCE_WG2 = 64;
var FLAT_WG = 64;
var FLAT_ITEMS = 16;
var WIDE_MIN_COLS = 1024;
var WIDE_MAX_ROWS = 64;
function rowSplit(rows, cols) {
  return cols >= WIDE_MIN_COLS && rows <= WIDE_MAX_ROWS ? { entryPoint: "wide", constants: { WG: WIDE_WG }, workgroups: grid1d(rows, 1) } : { entryPoint: "rows", constants: { WG: ROWS_WG }, workgroups: grid1d(rows, ROWS_WG) };
}
function softmax2(rt, x, rows, cols) {
  const y = allocate(rt, rows * cols, "softmax.y");
  rt.dispatch({
    kernel: "softmax",
    shapes: `x[${rows},${cols}]`,
    shader: softmax_default,
    ...rowSplit(rows, cols),
    params: new Params().u32(rows, cols),
    buffers: [gpuStorage(x).buffer, y.buffer]
  });
  return y;
}
function softmaxBackward2(rt, y, dy, rows, cols) {
  const dx = allocate(rt, rows * cols, "softmax.dx");
  rt.dispatch({
    kernel: "softmaxBackward",
    shapes: `y[${rows},${cols}]`,
    shader: softmax_backward_default,
    ...rowSplit(rows, cols),
    params: new Params().u32(rows, cols),
    buffers: [gpuStorage(y).buffer, gpuStorage(dy).buffer, dx.buffer]
  });
  return dx;
}
function softmaxCrossEntropy2(rt, logits, targets, rows, cols, classWeights) {
  const shapes = `logits[${rows},${cols}] targets[${rows}]` + (classWeights ? ` weights[${cols}]` : "");
  const probs = allocate(rt, rows * cols, "crossEntropy.probs");
  const rowLoss = allocate(rt, rows * 2, "crossEntropy.rowLoss");
  const loss = allocate(rt, 1, "crossEntropy.loss");
  const buffers = [gpuStorage(logits).buffer, gpuStorage(targets).buffer, probs.buffer, rowLoss.buffer];
  rt.dispatch({
    kernel: "softmaxCrossEntropy.rows",
    shapes,
    shader: softmax_cross_entropy_default,
    entryPoint: classWeights ? "rowsWeighted" : "rows",
    constants: { WG: ROWS_WG },
    params: new Params().u32(rows, cols),
    buffers: classWeights ? [...buffers, gpuStorage(classWeights).buffer] : buffers,
    workgroups: grid1d(rows, ROWS_WG)
  });
  rt.dispatch({
    kernel: "softmaxCrossEntropy.mean",
    shapes,
    shader: softmax_cross_entropy_default,
    entryPoint: "mean",
    constants: { WG: REDUCE_WG2 },
    params: new Params().u32(rows, cols),
    buffers: [rowLoss.buffer, loss.buffer],
    workgroups: [1]
  });
  rt.release(rowLoss.buffer);
  return { loss, probs };
}
function softmaxCrossEntropyBackward2(rt, probs, targets, dloss, rows, cols, classWeights) {
  const shapes = `probs[${rows},${cols}] targets[${rows}]` + (classWeights ? ` weights[${cols}]` : "");
  const dlogits = allocate(rt, rows * cols, "crossEntropy.dlogits");
  const params = new Params().u32(rows, cols, Math.floor(FLAT_WG / cols), FLAT_WG % cols);
  const buffers = [gpuStorage(probs).buffer, gpuStorage(targets).buffer, gpuStorage(dloss).buffer, dlogits.buffer];
  const gradient = { shader: softmax_cross_entropy_backward_default, constants: { WG: FLAT_WG, ITEMS: FLAT_ITEMS }, params, workgroups: grid1d(rows * cols, FLAT_WG * FLAT_ITEMS) };
  if (!classWeights) {
    rt.dispatch({ kernel: "softmaxCrossEntropyBackward", shapes, entryPoint: "gradient", buffers, ...gradient });
    return dlogits;
  }
  const weights = gpuStorage(classWeights).buffer;
  const weightSum = allocate(rt, 1, "crossEntropy.weightSum");
  rt.dispatch({
    kernel: "softmaxCrossEntropyBackward.sumOfWeights",
    shapes,
    shader: softmax_cross_entropy_backward_default,
    entryPoint: "sumOfWeights",
    constants: { WG: REDUCE_WG2, ITEMS: FLAT_ITEMS },
    params,
    buffers: [gpuStorage(targets).buffer, weights, weightSum.buffer],
    workgroups: [1]
  });
  rt.dispatch({ kernel: "softmaxCrossEntropyBackward", shapes, entryPoint: "gradientWeighted", buffers: [...buffers, weights, weightSum.buffer], ...gradient });
  rt.release(weightSum.buffer);
  return dlogits;
}

// src/kernels/backend.ts
var WebGpuBackend = class {
  constructor(rt) {
    this.rt = rt;
  }
  rt;
  name = "webgpu";
  upload(data, label = "tensor") {
    return new GpuStorage(this.rt.upload(data, label), data.length);
  }
  uploadIndices(data, label = "indices") {
    return new GpuStorage(this.rt.upload(data, label), data.length);
  }
  zeros(length, label = "zeros") {
    const s = new GpuStorage(this.rt.allocate(length * 4, label), length);
    this.rt.clear(s.buffer, length * 4);
    return s;
  }
  fill(length, value) {
    return value === 0 ? this.zeros(length) : fill(this.rt, length, value);
  }
  async download(s) {
    const g = gpuStorage(s);
    return new Float32Array(await this.rt.read(g.buffer, g.length * 4));
  }
  write(s, data) {
    this.rt.flush();
    this.rt.device.queue.writeBuffer(gpuStorage(s).buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  }
  release(s) {
    this.rt.release(gpuStorage(s).buffer);
  }
  counters() {
    return this.rt.counters();
  }
  flush() {
    this.rt.flush();
  }
  unary(op, x) {
    return unary2(this.rt, op, x);
  }
  unaryBackward(op, x, y, dy) {
    return unaryBackward2(this.rt, op, x, y, dy);
  }
  binary(op, a, aShape, b, bShape, outShape) {
    return binary2(this.rt, op, a, aShape, b, bShape, outShape);
  }
  affine(x, alpha, beta) {
    return affine2(this.rt, x, alpha, beta);
  }
  accumulate(acc, x) {
    accumulate2(this.rt, acc, x);
  }
  sumTo(x, shape, outShape) {
    return sumTo2(this.rt, x, shape, outShape);
  }
  broadcastTo(x, shape, outShape) {
    return broadcastTo2(this.rt, x, shape, outShape);
  }
  concat(inputs, shapes, axis) {
    return concat2(this.rt, inputs, shapes, axis);
  }
  slice(x, shape, axis, start, length) {
    return slice2(this.rt, x, shape, axis, start, length);
  }
  conv1d(x, xShape, w, wShape, bias, p) {
    return conv1d2(this.rt, x, xShape, w, wShape, bias, p);
  }
  conv1dBackwardInput(dy, w, xShape, wShape, p) {
    return conv1dBackwardInput2(this.rt, dy, w, xShape, wShape, p);
  }
  conv1dBackwardWeight(dy, x, xShape, wShape, p) {
    return conv1dBackwardWeight2(this.rt, dy, x, xShape, wShape, p);
  }
  maxPool1d(x, xShape, p) {
    return maxPool1d2(this.rt, x, xShape, p);
  }
  maxPool1dBackward(x, dy, xShape, p) {
    return maxPool1dBackward2(this.rt, x, dy, xShape, p);
  }
  avgPool1d(x, xShape, p) {
    return avgPool1d2(this.rt, x, xShape, p);
  }
  avgPool1dBackward(dy, xShape, p) {
    return avgPool1dBackward2(this.rt, dy, xShape, p);
  }
  gemm(a, b, o) {
    return gemm2(this.rt, a, b, o);
  }
  batchNormStats(x, shape) {
    return batchNormStats2(this.rt, x, shape);
  }
  batchNormApply(x, shape, mean2, variance, gamma, beta, eps) {
    return batchNormApply2(this.rt, x, shape, mean2, variance, gamma, beta, eps);
  }
  batchNormBackward(x, dy, shape, mean2, variance, gamma, eps) {
    return batchNormBackward2(this.rt, x, dy, shape, mean2, variance, gamma, eps);
  }
  dropoutMask(length, p, seed) {
    return dropoutMask2(this.rt, length, p, seed);
  }
  softmax(x, rows, cols) {
    return softmax2(this.rt, x, rows, cols);
  }
  softmaxBackward(y, dy, rows, cols) {
    return softmaxBackward2(this.rt, y, dy, rows, cols);
  }
  softmaxCrossEntropy(logits, targets, rows, cols, classWeights) {
    return softmaxCrossEntropy2(this.rt, logits, targets, rows, cols, classWeights);
  }
  softmaxCrossEntropyBackward(probs, targets, dloss, rows, cols, classWeights) {
    return softmaxCrossEntropyBackward2(this.rt, probs, targets, dloss, rows, cols, classWeights);
  }
  adamStep(param, grad, m, v, o) {
    adamStep2(this.rt, param, grad, m, v, o);
  }
};

// src/engine/context.ts
var current = null;
var gpuEngine = null;
async function init(options = {}) {
  const kind = options.backend ?? "webgpu";
  if (kind !== "webgpu" && kind !== "cpu") throw new Error(`init: unknown backend "${kind}" (use 'webgpu' or 'cpu')`);
  if (kind === "cpu") {
    current = { backend: new CpuBackend() };
    return current;
  }
  gpuEngine ??= requestGpuDevice().then((gpu) => {
    const runtime = new GpuRuntime(gpu);
    return { backend: new WebGpuBackend(runtime), runtime, adapter: gpu.adapter };
  });
  try {
    current = await gpuEngine;
  } catch (e) {
    gpuEngine = null;
    throw e;
  }
  return current;
}

// src/engine/tensor.ts
var ShapeError = class extends Error {
};
var Block = class {
  constructor(storage, backend) {
    this.storage = storage;
    this.backend = backend;
  }
  storage;
  backend;
  refs = 1;
  unref() {
    if (--this.refs === 0) this.backend.release(this.storage);
  }
};
var finalizer = new FinalizationRegistry((block) => block.unref());
var gradEnabled = true;
var scopes = [];
var Tensor = class _Tensor {
  shape;
  requiresGrad;
  /** Gradient accumulated by `backward()`, kept for leaves (tensors created by the user, parameters). */
  grad = null;
  /** A name used in error messages (parameters get their state-dict name). */
  name;
  block;
  parents = [];
  backwardFn = null;
  /** Tensors of a `tidy` scope that this tensor's graph still needs: freed with the graph. */
  graphOwned = [];
  constructor(storage, shape, backend, requiresGrad = false, share) {
    this.shape = shape;
    this.requiresGrad = requiresGrad;
    if (share) {
      this.block = share.liveBlock();
      this.block.refs++;
    } else {
      this.block = new Block(storage, backend);
    }
    finalizer.register(this, this.block, this);
    scopes[scopes.length - 1]?.add(this);
  }
  get storage() {
    return this.liveBlock().storage;
  }
  get backend() {
    return this.liveBlock().backend;
  }
  get size() {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  get isLeaf() {
    return this.backwardFn === null;
  }
  /** Whether another tensor holds the same storage (reshape views, shared gradients). */
  get sharesStorage() {
    return this.liveBlock().refs > 1;
  }
  get disposed() {
    return this.block === null;
  }
  describe() {
    return `${this.name ?? "tensor"}[${this.shape.join(",")}]`;
  }
  async toArray() {
    const data = await this.backend.download(this.storage);
    return data.length === this.size ? data : data.subarray(0, this.size);
  }
  /** Releases this tensor's reference to its storage; using it afterwards throws. */
  dispose() {
    if (!this.block) return;
    finalizer.unregister(this);
    this.block.unref();
    this.block = null;
    this.releaseGraph();
  }
  /** Drops the tape behind this tensor (as torch frees the graph after backward) and what it kept alive. */
  releaseGraph() {
    this.parents = [];
    this.backwardFn = null;
    for (const t of this.graphOwned) t.dispose();
    this.graphOwned = [];
  }
  /** Makes this tensor's graph own `tensors` (called by tidy for the intermediates a returned graph needs). */
  adopt(tensors) {
    this.graphOwned.push(...tensors);
  }
  /** The same values, cut from the tape (the graph behind this tensor can then be freed). */
  detach() {
    return new _Tensor(this.storage, [...this.shape], this.backend, false, this);
  }
  /** Removes the tensor from the enclosing `tidy` scopes, so it outlives them. */
  keep() {
    for (const scope of scopes) scope.delete(this);
    return this;
  }
  /** Records how to send this tensor's gradient back to `parents` (called by ops). */
  setGradFn(parents, fn) {
    if (gradEnabled && parents.some((p) => p.requiresGrad)) {
      this.requiresGrad = true;
      this.parents = parents;
      this.backwardFn = fn;
    }
    return this;
  }
  /** Back-propagates from this tensor. `grad` defaults to ones (this must then be a scalar, as in torch). */
  async backward(grad) {
    this.backwardSync(grad);
    this.backend.flush();
  }
  backwardSync(grad) {
    if (!this.requiresGrad) throw new Error(`${this.describe()} does not require grad: nothing to differentiate`);
    if (!grad && this.size !== 1) {
      throw new ShapeError(`backward() without a gradient needs a scalar, but ${this.describe()} has ${this.size} elements`);
    }
    if (grad && grad.size !== this.size) {
      throw new ShapeError(`backward(): gradient [${grad.shape}] does not match ${this.describe()}`);
    }
    const order = topologicalOrder(this);
    const grads = /* @__PURE__ */ new Map();
    this.backwardInto(order, grads, grad);
    for (const node of order) node.releaseGraph();
  }
  backwardInto(order, grads, grad) {
    const seed = grad ?? new _Tensor(this.backend.fill(1, 1), [...this.shape], this.backend);
    grads.set(this, seed === grad ? reshapeShared(grad, this.shape) : seed);
    withoutGrad(() => {
      for (const node of order) {
        const g = grads.get(node);
        if (!g) continue;
        grads.delete(node);
        if (node.isLeaf) {
          accumulateLeafGrad(node, g);
          continue;
        }
        const parentGrads = node.backwardFn(g);
        g.dispose();
        node.parents.forEach((parent, i) => {
          const pg = parentGrads[i];
          if (!pg) return;
          if (!parent.requiresGrad) return pg.dispose();
          const existing = grads.get(parent);
          grads.set(parent, existing ? sum(existing, pg) : pg.keep());
        });
      }
    });
  }
  liveBlock() {
    if (!this.block) throw new Error(`${this.describe()} was disposed and cannot be used`);
    return this.block;
  }
};
function accumulateLeafGrad(leaf, g) {
  const shaped = reshapeShared(g, leaf.shape);
  g.dispose();
  leaf.grad = leaf.grad ? sum(leaf.grad, shaped) : shaped;
}
function sum(a, b) {
  let out = a;
  if (a.sharesStorage) {
    out = new Tensor(a.backend.affine(a.storage, 1, 0), [...a.shape], a.backend).keep();
    a.dispose();
  }
  out.backend.accumulate(out.storage, b.storage);
  b.dispose();
  return out;
}
function reshapeShared(t, shape) {
  return new Tensor(t.storage, [...shape], t.backend, false, t).keep();
}
function topologicalOrder(root) {
  const order = [];
  const seen = /* @__PURE__ */ new Set();
  const stack = [[root, false]];
  while (stack.length) {
    const [node, expanded] = stack.pop();
    if (expanded) {
      order.push(node);
      continue;
    }
    if (seen.has(node)) continue;
    seen.add(node);
    stack.push([node, true]);
    for (const p of node.parents) if (!seen.has(p) && p.requiresGrad) stack.push([p, false]);
  }
  return order.reverse();
}
function withoutGrad(fn) {
  const previous = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

// src/engine/ops.ts
function result(x, storage, shape) {
  return new Tensor(storage, shape, x.backend);
}
function reshape(x, shape) {
  const known = shape.filter((d2) => d2 !== -1).reduce((a, b) => a * b, 1);
  const resolved = shape.map((d2) => d2 === -1 ? x.size / known : d2);
  if (shape.filter((d2) => d2 === -1).length > 1 || resolved.reduce((a, b) => a * b, 1) !== x.size || resolved.some((d2) => !Number.isInteger(d2))) {
    throw new ShapeError(`reshape: ${x.describe()} (${x.size} elements) cannot be viewed as [${shape}]`);
  }
  const out = new Tensor(x.storage, resolved, x.backend, false, x);
  return out.setGradFn([x], (g) => [reshape(g, x.shape)]);
}
function unaryOp(op) {
  return (x) => {
    const y = result(x, x.backend.unary(op, x.storage), [...x.shape]);
    return y.setGradFn([x], (g) => [result(x, x.backend.unaryBackward(op, x.storage, y.storage, g.storage), [...x.shape])]);
  };
}
var relu = unaryOp("relu");
var sigmoid = unaryOp("sigmoid");
var tanh = unaryOp("tanh");
var exp = unaryOp("exp");
var log = unaryOp("log");
var neg = unaryOp("neg");
var abs = unaryOp("abs");
var sqrt = unaryOp("sqrt");
var square = unaryOp("square");
var gelu = unaryOp("gelu");
var leakyRelu = unaryOp("leakyRelu");
function broadcastShapes(a, b, op) {
  const rank = Math.max(a.length, b.length);
  const pa = [...Array(rank - a.length).fill(1), ...a];
  const pb = [...Array(rank - b.length).fill(1), ...b];
  const out = pa.map((d2, i) => {
    if (d2 === pb[i] || pb[i] === 1) return d2;
    if (d2 === 1) return pb[i];
    throw new ShapeError(`${op}: shapes [${a}] and [${b}] do not broadcast (dim ${i}: ${d2} vs ${pb[i]})`);
  });
  return [pa, pb, out];
}
function binaryOp(op) {
  return (a, b) => {
    sameBackend(a, b, op);
    const [pa, pb, outShape] = broadcastShapes(a.shape, b.shape, op);
    const backend = a.backend;
    const y = new Tensor(backend.binary(op, a.storage, pa, b.storage, pb, outShape), outShape, backend);
    return y.setGradFn([a, b], (g) => {
      const reduce2 = (full, shape, padded) => {
        if (padded.every((d2, i) => d2 === outShape[i])) return reshape(full, shape);
        const s = result(full, backend.sumTo(full.storage, outShape, padded), [...shape]);
        full.dispose();
        return s;
      };
      const ga = () => {
        if (op === "add" || op === "sub") return reduce2(reshape(g, outShape), a.shape, pa);
        if (op === "mul") return reduce2(result(g, backend.binary("mul", g.storage, outShape, b.storage, pb, outShape), outShape), a.shape, pa);
        return reduce2(result(g, backend.binary("div", g.storage, outShape, b.storage, pb, outShape), outShape), a.shape, pa);
      };
      const gb = () => {
        if (op === "add") return reduce2(reshape(g, outShape), b.shape, pb);
        if (op === "sub") return reduce2(result(g, backend.affine(g.storage, -1, 0), outShape), b.shape, pb);
        if (op === "mul") return reduce2(result(g, backend.binary("mul", g.storage, outShape, a.storage, pa, outShape), outShape), b.shape, pb);
        const yOverB = backend.binary("div", y.storage, outShape, b.storage, pb, outShape);
        const full = backend.binary("mul", g.storage, outShape, yOverB, outShape, outShape);
        backend.release(yOverB);
        const negated = backend.affine(full, -1, 0);
        backend.release(full);
        return reduce2(result(g, negated, outShape), b.shape, pb);
      };
      return [a.requiresGrad ? ga() : null, b.requiresGrad ? gb() : null];
    });
  };
}
var add = binaryOp("add");
var sub = binaryOp("sub");
var mul = binaryOp("mul");
var div = binaryOp("div");
function sameBackend(a, b, op) {
  if (a.backend !== b.backend) throw new Error(`${op}: ${a.describe()} is on ${a.backend.name} but ${b.describe()} is on ${b.backend.name}`);
}

// src/train/checkpoint.ts
var hostIsLittleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

// src/train/audio.ts
import * as wavefileModule from "wavefile";
var wavefileExports = wavefileModule;
var WaveFile = wavefileExports.WaveFile ?? wavefileExports.default?.WaveFile;
var FORMAT_PCM = 1;
var FORMAT_FLOAT = 3;
var SUPPORTED_BITS = { [FORMAT_PCM]: [8, 16, 24, 32], [FORMAT_FLOAT]: [32, 64] };
var CONTAINER_PEAK = 2 ** 29;

// src/embed.ts
var isNode = typeof process !== "undefined" && !!process.versions?.node;

// bench/gpu.ts
var dawnGpu;
async function startEngine() {
  const nav = globalThis.navigator;
  if (!nav?.gpu && typeof process !== "undefined" && process.versions?.node) {
    const dawn = await import("webgpu");
    Object.assign(globalThis, dawn.globals);
    dawnGpu ??= dawn.create([]);
    Object.defineProperty(globalThis, "navigator", { value: { ...nav ?? {}, gpu: dawnGpu }, configurable: true, writable: true });
  }
  const engine3 = await init();
  if (!engine3.runtime) throw new Error("bench: the WebGPU engine did not start");
  return engine3;
}
async function startTfjs() {
  const tf2 = await import("@tensorflow/tfjs-core");
  await import("@tensorflow/tfjs-backend-webgpu");
  if (!await tf2.setBackend("webgpu")) throw new Error("TensorFlow.js: the webgpu backend did not start");
  await tf2.ready();
  tf2.env().set("WEBGPU_CPU_FORWARD", false);
  return tf2;
}
async function tfjsSync(tf2) {
  const backend = tf2.backend();
  backend.endComputePassEncoder();
  if (backend.commandEncoder) backend.submitQueue();
  await backend.device.queue.onSubmittedWorkDone();
}

// bench/check.ts
function randomArray(length, seed, lo = -1, hi = 1) {
  const a = new Float32Array(length);
  let s = seed * 2654435761 >>> 0 || 1;
  const scale = (hi - lo) / 4294967296;
  for (let i = 0; i < length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    a[i] = lo + (s >>> 0) * scale;
  }
  return a;
}
function compare(label, got, want, tol) {
  if (got.length !== want.length) return { label: `${label}: ${got.length} values, expected ${want.length}`, error: Infinity, ok: false };
  let maxErr = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    const d2 = Math.abs(got[i] - want[i]);
    if (!Number.isFinite(got[i]) || Number.isNaN(d2)) return { label: `${label}: value ${i} is ${got[i]}, expected ${want[i]}`, error: Infinity, ok: false };
    maxErr = Math.max(maxErr, d2);
    scale = Math.max(scale, Math.abs(want[i]));
  }
  const error = maxErr / Math.max(scale, 1e-30);
  return { label, error, ok: error <= tol };
}
function gatherRows(data, width, rowList) {
  const out = new Float32Array(rowList.length * width);
  rowList.forEach((r, i) => {
    for (let j = 0; j < width; j++) out[i * width + j] = data[r * width + j];
  });
  return out;
}
function gather3(x, shape, ns, cs) {
  const [, C, L] = shape;
  const out = new Float32Array(ns.length * cs.length * L);
  let o = 0;
  for (const n of ns) {
    for (const c of cs) {
      const base = (n * C + c) * L;
      for (let l = 0; l < L; l++) out[o++] = x[base + l];
    }
  }
  return out;
}
function range(n) {
  return Array.from({ length: n }, (_, i) => i);
}
function probes(n) {
  return [...new Set([0, n - 1, Math.floor(n / 2) + (n > 4 ? 1 : 0)].filter((i) => i >= 0 && i < n))].sort((a, b) => a - b);
}
function nclToNlc(x, [N, C, L]) {
  const out = new Float32Array(N * C * L);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let l = 0; l < L; l++) out[(n * L + l) * C + c] = x[(n * C + c) * L + l];
  return out;
}
function nlcToNcl(x, [N, C, L]) {
  const out = new Float32Array(N * C * L);
  for (let n = 0; n < N; n++) for (let l = 0; l < L; l++) for (let c = 0; c < C; c++) out[(n * C + c) * L + l] = x[(n * L + l) * C + c];
  return out;
}
function weightToHwio(w, [Cout, Cin, K]) {
  const out = new Float32Array(Cout * Cin * K);
  for (let co = 0; co < Cout; co++) for (let ci = 0; ci < Cin; ci++) for (let k = 0; k < K; k++) out[(k * Cin + ci) * Cout + co] = w[(co * Cin + ci) * K + k];
  return out;
}
function hwioToWeight(w, [Cout, Cin, K]) {
  const out = new Float32Array(Cout * Cin * K);
  for (let co = 0; co < Cout; co++) for (let ci = 0; ci < Cin; ci++) for (let k = 0; k < K; k++) out[(co * Cin + ci) * K + k] = w[(k * Cin + ci) * Cout + co];
  return out;
}

// bench/cases-kernels.ts
var F32 = 4;
var Inputs = class {
  constructor(ctx2) {
    this.ctx = ctx2;
  }
  ctx;
  storages = [];
  tensors = [];
  ours(data) {
    const s = this.ctx.backend.upload(data);
    this.storages.push(s);
    return s;
  }
  tfjs(data, shape) {
    const t = this.ctx.tf.tensor(data, shape);
    this.tensors.push(t);
    return t;
  }
  /** Releases s with the inputs (a result computed once, outside timing). */
  adoptOurs(s) {
    this.storages.push(s);
    return s;
  }
  /** Disposes t with the inputs (a tfjs tensor computed once, outside timing). */
  adopt(t) {
    this.tensors.push(t);
    return t;
  }
  dispose() {
    this.storages.forEach((s) => this.ctx.backend.release(s));
    this.tensors.forEach((t) => t.dispose());
  }
};
var MODEL_CONV_LAYERS = [
  { N: 16, Cin: 1, Cout: 64, L: 48e3, K: 80, stride: 4, padding: 39 },
  { N: 16, Cin: 64, Cout: 128, L: 3e3, K: 3, stride: 1, padding: 1 },
  { N: 16, Cin: 128, Cout: 128, L: 750, K: 3, stride: 1, padding: 1 },
  { N: 16, Cin: 128, Cout: 256, L: 187, K: 3, stride: 1, padding: 1 }
];
function convCase(layer, pass) {
  const { N, Cin, Cout, L, K, stride, padding } = layer;
  const p = { stride, padding, dilation: 1 };
  const Lout = Math.floor((L + 2 * padding - (K - 1) - 1) / stride) + 1;
  const xShape = [N, Cin, L];
  const wShape = [Cout, Cin, K];
  const yShape = [N, Cout, Lout];
  const shape = `${N}x${Cin}x${L}->${Cout} k${K}${stride > 1 ? `/${stride}` : ""}`;
  return {
    name: `conv1d.${pass} ${shape}`,
    flops: 2 * N * Cout * Lout * Cin * K,
    prepare(ctx2) {
      const x = pass === "bwdInput" ? new Float32Array(0) : randomArray(N * Cin * L, 11);
      const w = randomArray(Cout * Cin * K, 12, -1 / Math.sqrt(Cin * K), 1 / Math.sqrt(Cin * K));
      const dy = pass === "fwd" ? new Float32Array(0) : randomArray(N * Cout * Lout, 13);
      const inputs = new Inputs(ctx2);
      const b = ctx2.backend;
      const n = N - 1;
      let ours;
      let expect;
      if (pass === "fwd") {
        const [xs, ws] = [inputs.ours(x), inputs.ours(w)];
        ours = () => [b.conv1d(xs, xShape, ws, wShape, null, p)];
        const cos = probes(Cout);
        expect = {
          output: 0,
          label: `y[${n}, ${cos}, :]`,
          pick: (y) => gather3(y, yShape, [n], cos),
          want: () => reference_exports.conv1d(gather3(x, xShape, [n], range(Cin)), [1, Cin, L], gather3(w, wShape, cos, range(Cin)), [cos.length, Cin, K], null, p)
        };
      } else if (pass === "bwdInput") {
        const [dys, ws] = [inputs.ours(dy), inputs.ours(w)];
        ours = () => [b.conv1dBackwardInput(dys, ws, xShape, wShape, p)];
        const cis = probes(Cin);
        expect = {
          output: 0,
          label: `dx[${n}, ${cis}, :]`,
          pick: (dx) => gather3(dx, xShape, [n], cis),
          want: () => reference_exports.conv1dBackwardInput(gather3(dy, yShape, [n], range(Cout)), gather3(w, wShape, range(Cout), cis), [1, cis.length, L], [Cout, cis.length, K], p)
        };
      } else {
        const [dys, xs] = [inputs.ours(dy), inputs.ours(x)];
        ours = () => [b.conv1dBackwardWeight(dys, xs, xShape, wShape, p)];
        const cos = probes(Cout);
        expect = {
          output: 0,
          label: `dw[${cos}, :, :]`,
          pick: (dw) => gather3(dw, [1, Cout, Cin * K], [0], cos),
          want: () => reference_exports.conv1dBackwardWeight(gather3(dy, yShape, range(N), cos), x, xShape, [cos.length, Cin, K], p)
        };
      }
      const prepared = { ours, expect: [expect], dispose: () => inputs.dispose() };
      const tf2 = ctx2.tf;
      if (tf2) {
        const pad = [[0, 0], [0, 0], [padding, padding], [0, 0]];
        const strides = [1, stride];
        const x4 = () => inputs.tfjs(nclToNlc(x, xShape), [N, 1, L, Cin]);
        const w4 = () => inputs.tfjs(weightToHwio(w, wShape), [1, K, Cin, Cout]);
        const dy4 = () => inputs.tfjs(nclToNlc(dy, yShape), [N, 1, Lout, Cout]);
        if (pass === "fwd") {
          const [xt, wt] = [x4(), w4()];
          prepared.tfjs = () => [tf2.conv2d(xt, wt, strides, pad)];
          prepared.tfjsToOurs = [(d2) => nlcToNcl(d2, yShape)];
        } else if (pass === "bwdInput") {
          const [dyt, wt] = [dy4(), w4()];
          const attrs = { strides, pad, dataFormat: "NHWC", dimRoundingMode: void 0, inputShape: [N, 1, L, Cin] };
          prepared.tfjs = () => [tf2.engine().runKernel("Conv2DBackpropInput", { dy: dyt, filter: wt }, attrs)];
          prepared.tfjsToOurs = [(d2) => nlcToNcl(d2, xShape)];
        } else {
          const [xt, dyt] = [x4(), dy4()];
          const attrs = { strides, pad, dataFormat: "NHWC", dimRoundingMode: void 0, filterShape: [1, K, Cin, Cout] };
          prepared.tfjs = () => [tf2.engine().runKernel("Conv2DBackpropFilter", { x: xt, dy: dyt }, attrs)];
          prepared.tfjsToOurs = [(d2) => hwioToWeight(d2, wShape)];
        }
      }
      return prepared;
    }
  };
}
function maxPoolCase(shape, factor, pass) {
  const [N, C, L] = shape;
  const p = { kernelSize: factor, stride: factor, padding: 0 };
  const Lout = Math.floor((L - factor) / factor) + 1;
  const outShape = [N, C, Lout];
  const size2 = N * C * L;
  const outSize = N * C * Lout;
  return {
    name: `maxPool1d.${pass} ${N}x${C}x${L} /${factor}`,
    // fwd reads x, writes y; bwd reads x and dy, writes dx
    bytes: pass === "fwd" ? (size2 + outSize) * F32 : (2 * size2 + outSize) * F32,
    tol: 0,
    prepare(ctx2) {
      const x = randomArray(size2, 21);
      const inputs = new Inputs(ctx2);
      const b = ctx2.backend;
      const xs = inputs.ours(x);
      const [ns, cs] = [probes(N), probes(C)];
      const sub2 = [ns.length, cs.length, L];
      const label = `rows n ${ns}, c ${cs}`;
      const tf2 = ctx2.tf;
      const x4 = tf2 ? inputs.tfjs(nclToNlc(x, shape), [N, 1, L, C]) : null;
      const window = [1, factor];
      if (pass === "fwd") {
        const prepared2 = {
          ours: () => [b.maxPool1d(xs, shape, p)],
          expect: [{ output: 0, label: `y ${label}`, pick: (y) => gather3(y, outShape, ns, cs), want: () => reference_exports.maxPool1d(gather3(x, shape, ns, cs), sub2, p) }],
          dispose: () => inputs.dispose()
        };
        if (tf2 && x4) {
          prepared2.tfjs = () => [tf2.maxPool(x4, window, window, "valid")];
          prepared2.tfjsToOurs = [(d2) => nlcToNcl(d2, outShape)];
        }
        return prepared2;
      }
      const dy = randomArray(outSize, 22);
      const dys = inputs.ours(dy);
      const prepared = {
        ours: () => [b.maxPool1dBackward(xs, dys, shape, p)],
        expect: [
          {
            output: 0,
            label: `dx ${label}`,
            pick: (dx) => gather3(dx, shape, ns, cs),
            want: () => reference_exports.maxPool1dBackward(gather3(x, shape, ns, cs), gather3(dy, outShape, ns, cs), sub2, p)
          }
        ],
        dispose: () => inputs.dispose()
      };
      if (tf2 && x4) {
        const dy4 = inputs.tfjs(nclToNlc(dy, outShape), [N, 1, Lout, C]);
        const y4 = inputs.adopt(tf2.maxPool(x4, window, window, "valid"));
        const attrs = { filterSize: window, strides: window, pad: "valid", dimRoundingMode: void 0 };
        prepared.tfjs = () => [tf2.engine().runKernel("MaxPoolGrad", { dy: dy4, input: x4, output: y4 }, attrs)];
        prepared.tfjsToOurs = [(d2) => nlcToNcl(d2, shape)];
      }
      return prepared;
    }
  };
}
var EPS = 1e-5;
function batchNormCase(shape, pass) {
  const [N, C, L] = shape;
  const size2 = N * C * L;
  return {
    name: `batchNorm.${pass} ${N}x${C}x${L}`,
    // The least traffic: fwd reads x for the statistics, then reads x and writes y; bwd reads x and dy, writes dx.
    bytes: 3 * size2 * F32,
    tol: 2e-3,
    prepare(ctx2) {
      const x = randomArray(size2, 31, -2, 3);
      const gamma = randomArray(C, 33, 0.5, 1.5);
      const beta = randomArray(C, 34, -0.5, 0.5);
      const inputs = new Inputs(ctx2);
      const b = ctx2.backend;
      const [xs, gs, bs] = [inputs.ours(x), inputs.ours(gamma), inputs.ours(beta)];
      const cs = probes(C);
      const ns = range(N);
      const sub2 = [N, cs.length, L];
      const xSub = gather3(x, shape, ns, cs);
      const perChannel = (v) => Float64Array.from(cs, (c) => v[c]);
      const stats = reference_exports.batchNormStats(xSub, sub2);
      const tf2 = ctx2.tf;
      const x4 = tf2 ? inputs.tfjs(nclToNlc(x, shape), [N, 1, L, C]) : null;
      const g1 = tf2 ? inputs.tfjs(gamma, [C]) : null;
      const toNcl = (d2) => nlcToNcl(d2, shape);
      const same = (d2) => d2;
      if (pass === "fwd") {
        const prepared2 = {
          ours: () => {
            const st = b.batchNormStats(xs, shape);
            return [b.batchNormApply(xs, shape, st.mean, st.variance, gs, bs, EPS), st.mean, st.variance];
          },
          expect: [
            {
              output: 0,
              label: `y channels ${cs}`,
              pick: (y) => gather3(y, shape, ns, cs),
              want: () => reference_exports.batchNormApply(xSub, sub2, stats.mean, stats.variance, perChannel(gamma), perChannel(beta), EPS)
            },
            { output: 1, label: `mean channels ${cs}`, pick: perChannel, want: () => stats.mean },
            { output: 2, label: `variance channels ${cs}`, pick: perChannel, want: () => stats.variance }
          ],
          dispose: () => inputs.dispose()
        };
        if (tf2 && x4 && g1) {
          const b1 = inputs.tfjs(beta, [C]);
          prepared2.tfjs = () => tf2.tidy(() => {
            const { mean: mean3, variance: variance2 } = tf2.moments(x4, [0, 1, 2]);
            return [tf2.batchNorm(x4, mean3, variance2, b1, g1, EPS), mean3, variance2];
          });
          prepared2.tfjsToOurs = [toNcl, same, same];
        }
        return prepared2;
      }
      const full = reference_exports.batchNormStats(x, shape);
      const [mean2, variance] = [Float32Array.from(full.mean), Float32Array.from(full.variance)];
      const dy = randomArray(size2, 32);
      const [dys, ms, vs] = [inputs.ours(dy), inputs.ours(mean2), inputs.ours(variance)];
      let ref = null;
      const r = () => ref ??= reference_exports.batchNormBackward(xSub, gather3(dy, shape, ns, cs), sub2, perChannel(mean2), perChannel(variance), perChannel(gamma), EPS);
      const prepared = {
        ours: () => {
          const g = b.batchNormBackward(xs, dys, shape, ms, vs, gs, EPS);
          return [g.dx, g.dgamma, g.dbeta];
        },
        expect: [
          { output: 0, label: `dx channels ${cs}`, pick: (d2) => gather3(d2, shape, ns, cs), want: () => r().dx },
          { output: 1, label: `dgamma channels ${cs}`, pick: perChannel, want: () => r().dgamma },
          { output: 2, label: `dbeta channels ${cs}`, pick: perChannel, want: () => r().dbeta }
        ],
        dispose: () => inputs.dispose()
      };
      if (tf2 && x4 && g1) {
        const dy4 = inputs.tfjs(nclToNlc(dy, shape), [N, 1, L, C]);
        const [m1, v1] = [inputs.tfjs(mean2, [C]), inputs.tfjs(variance, [C])];
        const M = N * L;
        prepared.tfjs = () => tf2.tidy(() => {
          const invStd = tf2.rsqrt(tf2.add(v1, EPS));
          const xhat = tf2.mul(tf2.sub(x4, m1), invStd);
          const dbeta = tf2.sum(dy4, [0, 1, 2]);
          const dgamma = tf2.sum(tf2.mul(dy4, xhat), [0, 1, 2]);
          const k = tf2.div(tf2.mul(g1, invStd), M);
          const dx = tf2.mul(k, tf2.sub(tf2.sub(tf2.mul(dy4, M), dbeta), tf2.mul(xhat, dgamma)));
          return [dx, dgamma, dbeta];
        });
        prepared.tfjsToOurs = [toNcl, same, same];
      }
      return prepared;
    }
  };
}
function reluCase(shape, pass) {
  const size2 = shape.reduce((a, b) => a * b, 1);
  return {
    name: `relu.${pass} ${shape.join("x")}`,
    bytes: (pass === "fwd" ? 2 : 3) * size2 * F32,
    tol: 0,
    prepare(ctx2) {
      const x = randomArray(size2, 41);
      const inputs = new Inputs(ctx2);
      const b = ctx2.backend;
      const xs = inputs.ours(x);
      const [ns, cs] = [probes(shape[0]), probes(shape[1])];
      const part = (v) => gather3(v, shape, ns, cs);
      const label = `rows n ${ns}, c ${cs}`;
      const tf2 = ctx2.tf;
      const x1 = tf2 ? inputs.tfjs(x, [size2]) : null;
      if (pass === "fwd") {
        const prepared2 = {
          ours: () => [b.unary("relu", xs)],
          expect: [{ output: 0, label: `y ${label}`, pick: part, want: () => reference_exports.unary("relu", part(x)) }],
          dispose: () => inputs.dispose()
        };
        if (tf2 && x1) prepared2.tfjs = () => [tf2.relu(x1)];
        return prepared2;
      }
      const dy = randomArray(size2, 42);
      const ys = b.unary("relu", xs);
      inputs.adoptOurs(ys);
      const dys = inputs.ours(dy);
      const prepared = {
        ours: () => [b.unaryBackward("relu", xs, ys, dys)],
        expect: [
          {
            output: 0,
            label: `dx ${label}`,
            pick: part,
            want: () => {
              const xp = part(x);
              return reference_exports.unaryBackward("relu", xp, reference_exports.unary("relu", xp), part(dy));
            }
          }
        ],
        dispose: () => inputs.dispose()
      };
      if (tf2 && x1) {
        const dy1 = inputs.tfjs(dy, [size2]);
        prepared.tfjs = () => [tf2.tidy(() => tf2.mul(dy1, tf2.step(x1)))];
      }
      return prepared;
    }
  };
}
function gemmCase(name, g) {
  const { M, N, K } = g;
  const transA = !!g.transA;
  const transB = !!g.transB;
  return {
    name,
    flops: 2 * M * N * K,
    prepare(ctx2) {
      const a = randomArray(M * K, 51);
      const bData = randomArray(K * N, 52);
      const inputs = new Inputs(ctx2);
      const [as, bs] = [inputs.ours(a), inputs.ours(bData)];
      const rows = M * N * K <= 1 << 24 ? range(M) : probes(M);
      const aRows = () => {
        if (!transA) return gatherRows(a, K, rows);
        const out = new Float32Array(K * rows.length);
        for (let k = 0; k < K; k++) rows.forEach((r, i) => out[k * rows.length + i] = a[k * M + r]);
        return out;
      };
      const prepared = {
        ours: () => [ctx2.backend.gemm(as, bs, { M, N, K, transA, transB })],
        expect: [
          {
            output: 0,
            label: rows.length === M ? "C" : `C rows ${rows}`,
            pick: (c) => gatherRows(c, N, rows),
            want: () => reference_exports.gemm(aRows(), bData, { M: rows.length, N, K, transA, transB })
          }
        ],
        dispose: () => inputs.dispose()
      };
      const tf2 = ctx2.tf;
      if (tf2) {
        const a2 = inputs.tfjs(a, transA ? [K, M] : [M, K]);
        const b2 = inputs.tfjs(bData, transB ? [N, K] : [K, N]);
        prepared.tfjs = () => [tf2.matMul(a2, b2, transA, transB)];
      }
      return prepared;
    }
  };
}
function matmulCases(M, N, K) {
  const dims = M === N && N === K ? `${M}^3` : `${M}x${K}x${N}`;
  return [
    gemmCase(`gemm.fwd ${dims}`, { M, N, K }),
    gemmCase(`gemm.bwdA ${dims}`, { M, N: K, K: N, transB: true }),
    // dA = dC·Bᵀ
    gemmCase(`gemm.bwdB ${dims}`, { M: K, N, K: M, transA: true })
    // dB = Aᵀ·dC
  ];
}
function linearCases(rows, inF, outF) {
  const dims = `${rows}x${inF}->${outF}`;
  return [
    gemmCase(`linear.fwd ${dims}`, { M: rows, N: outF, K: inF, transB: true }),
    gemmCase(`linear.bwdInput ${dims}`, { M: rows, N: inF, K: outF }),
    // dx = dy·W
    gemmCase(`linear.bwdWeight ${dims}`, { M: outF, N: inF, K: rows, transA: true })
    // dW = dyᵀ·x
  ];
}
function kernelCases(gemm3, scale = 1) {
  const s = (v) => Math.max(4, Math.round(v * scale));
  const layers = MODEL_CONV_LAYERS.map((l) => ({ ...l, N: scale < 1 ? 2 : l.N, L: s(l.L) }));
  const N = scale < 1 ? 2 : 16;
  const first = [N, 64, s(12e3)];
  const second = [N, 128, s(3e3)];
  const cases = [];
  for (const layer of layers) for (const pass of ["fwd", "bwdInput", "bwdWeight"]) cases.push(convCase(layer, pass));
  for (const shape of [first, second]) {
    cases.push(maxPoolCase(shape, 4, "fwd"), maxPoolCase(shape, 4, "bwd"));
    cases.push(batchNormCase(shape, "fwd"), batchNormCase(shape, "bwd"));
    cases.push(reluCase(shape, "fwd"), reluCase(shape, "bwd"));
  }
  for (const size2 of gemm3) cases.push(...matmulCases(size2, size2, size2));
  cases.push(...linearCases(16, 258, 64), ...linearCases(16, 64, 4));
  return cases;
}

// bench/timing.ts
var QUICK_TIMING = { warmup: 1, repeats: 2, minSampleMs: 5, budgetMs: 3e3 };
async function measure(run, sync, o) {
  let once = Infinity;
  for (let i = 0; i < Math.max(1, o.warmup); i++) {
    const t0 = performance.now();
    await run();
    await sync();
    once = Math.min(once, performance.now() - t0);
  }
  const batch = once >= o.minSampleMs ? 1 : Math.min(64, Math.ceil(o.minSampleMs / Math.max(once, 0.01)));
  const samples = [];
  const started = performance.now();
  while (samples.length < o.repeats && (samples.length < 2 || performance.now() - started < o.budgetMs)) {
    const t0 = performance.now();
    for (let j = 0; j < batch; j++) await run();
    await sync();
    samples.push((performance.now() - t0) / batch);
  }
  return { ms: median(samples), batch, samples };
}
function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

// bench/case.ts
var CheckError = class extends Error {
};
function worst(results, who, name) {
  const bad = results.find((r) => !r.ok);
  if (bad) throw new CheckError(`${name}: ${who} result does not match the CPU reference (${bad.label}, relative error ${bad.error.toExponential(2)})`);
  return Math.max(0, ...results.map((r) => r.error));
}
async function checkCase(c, p, ctx2) {
  const tol = c.tol ?? 1e-3;
  const wants = /* @__PURE__ */ new Map();
  const want = (e) => {
    if (!wants.has(e)) wants.set(e, e.want());
    return wants.get(e);
  };
  const outs = p.ours();
  const ours = await Promise.all(outs.map((s) => ctx2.backend.download(s)));
  outs.forEach((s) => ctx2.backend.release(s));
  const error = worst(p.expect.map((e) => compare(`ours ${e.label}`, e.pick(ours[e.output]), want(e), tol)), "our", c.name);
  if (!ctx2.tf || !p.tfjs) return { error };
  const tensors = p.tfjs();
  const theirs = await Promise.all(tensors.map(async (t, i) => (p.tfjsToOurs?.[i] ?? ((d2) => d2))(await t.data())));
  tensors.forEach((t) => t.dispose());
  const tfjsError = worst(p.expect.map((e) => compare(`tfjs ${e.label}`, e.pick(theirs[e.output]), want(e), tol)), "the TensorFlow.js", c.name);
  return { error, tfjsError };
}
async function timeOurs(p, ctx2, o) {
  const runtime = ctx2.engine.runtime;
  return measure(
    () => {
      for (const s of p.ours()) ctx2.backend.release(s);
    },
    () => runtime.sync(),
    o
  );
}
async function timeTfjs(p, tf2, o) {
  return measure(
    () => {
      for (const t of p.tfjs()) t.dispose();
    },
    () => tfjsSync(tf2),
    o
  );
}

// bench/_phase.ts
var engine2 = await startEngine();
var tf = await startTfjs();
var ctx = { engine: engine2, backend: engine2.backend, tf };
var filter = process.argv[2];
for (const c of kernelCases([256]).filter((c2) => c2.name.includes(filter))) {
  let t = performance.now();
  const lap = (s) => {
    const n = performance.now();
    console.log(c.name, s, (n - t).toFixed(0));
    t = n;
  };
  const p = c.prepare(ctx);
  lap("prepare");
  const r = await checkCase(c, p, ctx);
  lap("check " + r.error + " " + r.tfjsError);
  const o = await timeOurs(p, ctx, QUICK_TIMING);
  lap("ours " + o.ms.toFixed(1) + " k" + o.batch);
  const f = await timeTfjs(p, tf, QUICK_TIMING);
  lap("tfjs " + f.ms.toFixed(1) + " k" + f.batch);
  p.dispose();
  await engine2.runtime.sync();
  lap("dispose");
}
process.exit(0);

// CPU reference of the pooling family (torch.nn.functional.max_pool1d / avg_pool1d, floor mode):
// x [N,C,L] -> y [N,C,Lout], Lout = floor((L + 2·padding − kernelSize)/stride) + 1. Window j of a row covers
// the padded positions j·stride − padding + [0, kernelSize). Max pooling pads with −inf and sends the gradient
// to the first maximum of each window (torch's CPU tie rule; a NaN is a window's maximum); average pooling pads with zeros and always
// divides by kernelSize (count_include_pad). Plain loops, float64 accumulation.

import { pool1dGeometry, type Pool1dParams } from '../geometry.js';

/** Index (within the row) of the first maximum of window j; −1 if the window holds no input position. A NaN
 * is the maximum of its window (torch propagates NaN through max pooling): the first NaN, and its gradient. */
function windowArgmax(x: ArrayLike<number>, rowStart: number, L: number, j: number, p: Pool1dParams): number {
  let best = -Infinity;
  let arg = -1;
  for (let k = 0; k < p.kernelSize; k++) {
    const t = j * p.stride - p.padding + k;
    if (t < 0 || t >= L) continue;
    const v = x[rowStart + t];
    if (Number.isNaN(v)) return t;
    if (arg < 0 || v > best) {
      best = v;
      arg = t;
    }
  }
  return arg;
}

export function maxPool1d(x: ArrayLike<number>, xShape: number[], p: Pool1dParams): Float64Array {
  const [N, C, L] = xShape;
  const { Lout } = pool1dGeometry(xShape, p);
  const y = new Float64Array(N * C * Lout);
  for (let r = 0; r < N * C; r++) {
    for (let j = 0; j < Lout; j++) {
      const arg = windowArgmax(x, r * L, L, j, p);
      y[r * Lout + j] = arg < 0 ? -Infinity : x[r * L + arg];
    }
  }
  return y;
}

export function maxPool1dBackward(x: ArrayLike<number>, dy: ArrayLike<number>, xShape: number[], p: Pool1dParams): Float64Array {
  const [N, C, L] = xShape;
  const { Lout } = pool1dGeometry(xShape, p);
  const dx = new Float64Array(N * C * L);
  for (let r = 0; r < N * C; r++) {
    for (let j = 0; j < Lout; j++) {
      const arg = windowArgmax(x, r * L, L, j, p);
      if (arg >= 0) dx[r * L + arg] += dy[r * Lout + j];
    }
  }
  return dx;
}

export function avgPool1d(x: ArrayLike<number>, xShape: number[], p: Pool1dParams): Float64Array {
  const [N, C, L] = xShape;
  const { Lout } = pool1dGeometry(xShape, p);
  const y = new Float64Array(N * C * Lout);
  for (let r = 0; r < N * C; r++) {
    for (let j = 0; j < Lout; j++) {
      let sum = 0;
      for (let k = 0; k < p.kernelSize; k++) {
        const t = j * p.stride - p.padding + k;
        if (t >= 0 && t < L) sum += x[r * L + t];
      }
      y[r * Lout + j] = sum / p.kernelSize;
    }
  }
  return y;
}

export function avgPool1dBackward(dy: ArrayLike<number>, xShape: number[], p: Pool1dParams): Float64Array {
  const [N, C, L] = xShape;
  const { Lout } = pool1dGeometry(xShape, p);
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

// CPU reference of the pooling family (torch.nn.functional.max_pool1d / avg_pool1d, floor mode):
// x [N,C,L] -> y [N,C,Lout], Lout = floor((L + 2·padding − kernelSize)/stride) + 1. Window j of a row covers
// the padded positions j·stride − padding + [0, kernelSize). Max pooling pads with −inf and sends the gradient
// to the first maximum of each window (torch's CPU tie rule; a NaN is a window's maximum); average pooling pads with zeros and always
// divides by kernelSize (count_include_pad). Plain loops, float64 accumulation.
// Statistics pooling: x [N,C,L] → [N,2C], each row's mean over L then its standard deviation
// sqrt(mean((x − mean)²) + eps) (population variance), means first along axis 1 (x-vector pooling, as
// python's statistics_pooling).

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

/** Calls visit(yIndex, xRowStart, j) for every window j of every row (row r of x starts at r·L, its windows'
 * outputs at r·Lout): the four passes below are this walk, read and written differently. */
function forEachWindow(xShape: number[], p: Pool1dParams, visit: (yi: number, rowStart: number, j: number) => void): void {
  const { N, C, L, Lout } = pool1dGeometry(xShape, p);
  for (let r = 0; r < N * C; r++) for (let j = 0; j < Lout; j++) visit(r * Lout + j, r * L, j);
}

/** The input positions of window j that lie inside a row of L (average pooling's padding adds zeros). */
function windowPositions(L: number, j: number, p: Pool1dParams): number[] {
  const positions: number[] = [];
  for (let k = 0; k < p.kernelSize; k++) {
    const t = j * p.stride - p.padding + k;
    if (t >= 0 && t < L) positions.push(t);
  }
  return positions;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const outputSize = (xShape: number[], p: Pool1dParams) => {
  const { N, C, Lout } = pool1dGeometry(xShape, p);
  return N * C * Lout;
};

export function maxPool1d(x: ArrayLike<number>, xShape: number[], p: Pool1dParams): Float64Array {
  const y = new Float64Array(outputSize(xShape, p));
  const L = xShape[2];
  forEachWindow(xShape, p, (yi, row, j) => {
    const arg = windowArgmax(x, row, L, j, p);
    y[yi] = arg < 0 ? -Infinity : x[row + arg];
  });
  return y;
}

export function maxPool1dBackward(x: ArrayLike<number>, dy: ArrayLike<number>, xShape: number[], p: Pool1dParams): Float64Array {
  const dx = new Float64Array(size(xShape));
  const L = xShape[2];
  forEachWindow(xShape, p, (yi, row, j) => {
    const arg = windowArgmax(x, row, L, j, p);
    if (arg >= 0) dx[row + arg] += dy[yi];
  });
  return dx;
}

export function avgPool1d(x: ArrayLike<number>, xShape: number[], p: Pool1dParams): Float64Array {
  const y = new Float64Array(outputSize(xShape, p));
  forEachWindow(xShape, p, (yi, row, j) => {
    for (const t of windowPositions(xShape[2], j, p)) y[yi] += x[row + t];
    y[yi] /= p.kernelSize;
  });
  return y;
}

export function avgPool1dBackward(dy: ArrayLike<number>, xShape: number[], p: Pool1dParams): Float64Array {
  const dx = new Float64Array(size(xShape));
  forEachWindow(xShape, p, (yi, row, j) => {
    for (const t of windowPositions(xShape[2], j, p)) dx[row + t] += dy[yi] / p.kernelSize;
  });
  return dx;
}

/** Each row's mean and sd, two passes (the mean, then the squared deviations from it). */
export function statsPool(x: ArrayLike<number>, xShape: readonly number[], eps: number): Float64Array {
  const [N, C, L] = xShape;
  const y = new Float64Array(2 * N * C);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const o = (n * C + c) * L;
      let sum = 0;
      for (let t = 0; t < L; t++) sum += x[o + t];
      const mean = sum / L;
      let squares = 0;
      for (let t = 0; t < L; t++) squares += (x[o + t] - mean) ** 2;
      y[n * 2 * C + c] = mean;
      y[n * 2 * C + C + c] = Math.sqrt(squares / L + eps);
    }
  }
  return y;
}

/** dx = dmean/L + dsd·(x − mean)/(L·sd), with mean and sd from the forward's output y. */
export function statsPoolBackward(x: ArrayLike<number>, y: ArrayLike<number>, dy: ArrayLike<number>, xShape: readonly number[]): Float64Array {
  const [N, C, L] = xShape;
  const dx = new Float64Array(N * C * L);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const [m, s] = [n * 2 * C + c, n * 2 * C + C + c];
      const o = (n * C + c) * L;
      for (let t = 0; t < L; t++) dx[o + t] = dy[m] / L + (dy[s] * (x[o + t] - y[m])) / (L * y[s]);
    }
  }
  return dx;
}

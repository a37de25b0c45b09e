// CPU reference of the conv1d family (torch.nn.functional.conv1d semantics, zero padding, groups = 1).
// Layout: x [N, Cin, L], w [Cout, Cin, K], y and dy [N, Cout, Lout], row-major;
// Lout = floor((L + 2·padding − dilation·(K − 1) − 1) / stride) + 1.
// Output position lo reads input position lo·stride − padding + k·dilation (zero outside [0, L)).

import { conv1dGeometry, type Conv1dParams } from '../geometry.js';

/** Calls visit(yIndex, wIndex, xIndex) for every product y[n, co, lo] += w[co, ci, k] · x[n, ci, l] of the
 * forward pass (l = lo·stride − padding + k·dilation inside [0, L)): each pass below is this one sum, read with
 * other operands. */
function forEachProduct(xShape: number[], wShape: number[], p: Conv1dParams, visit: (yi: number, wi: number, xi: number) => void): void {
  const { N, Cin, L, Cout, K, Lout } = conv1dGeometry(xShape, wShape, p);
  for (let n = 0; n < N; n++) {
    for (let co = 0; co < Cout; co++) {
      for (let lo = 0; lo < Lout; lo++) {
        for (let ci = 0; ci < Cin; ci++) {
          for (let k = 0; k < K; k++) {
            const l = lo * p.stride - p.padding + k * p.dilation;
            if (l >= 0 && l < L) visit((n * Cout + co) * Lout + lo, (co * Cin + ci) * K + k, (n * Cin + ci) * L + l);
          }
        }
      }
    }
  }
}

/** y[n, co, lo] = bias[co] + Σ_ci Σ_k w[co, ci, k] · x[n, ci, lo·stride − padding + k·dilation]. */
export function conv1d(x: ArrayLike<number>, xShape: number[], w: ArrayLike<number>, wShape: number[], bias: ArrayLike<number> | null, p: Conv1dParams): Float64Array {
  const { N, Cout, Lout } = conv1dGeometry(xShape, wShape, p);
  const y = new Float64Array(N * Cout * Lout);
  if (bias) y.forEach((_, i) => (y[i] = bias[Math.floor(i / Lout) % Cout]));
  forEachProduct(xShape, wShape, p, (yi, wi, xi) => (y[yi] += w[wi] * x[xi]));
  return y;
}

/** dx [N, Cin, L]: every product of the forward pass sends dy·w back to the input position it read. */
export function conv1dBackwardInput(dy: ArrayLike<number>, w: ArrayLike<number>, xShape: number[], wShape: number[], p: Conv1dParams): Float64Array {
  const dx = new Float64Array(xShape[0] * xShape[1] * xShape[2]);
  forEachProduct(xShape, wShape, p, (yi, wi, xi) => (dx[xi] += dy[yi] * w[wi]));
  return dx;
}

/** dw [Cout, Cin, K]: dw[co, ci, k] = Σ_n Σ_lo dy[n, co, lo] · x[n, ci, lo·stride − padding + k·dilation]. */
export function conv1dBackwardWeight(dy: ArrayLike<number>, x: ArrayLike<number>, xShape: number[], wShape: number[], p: Conv1dParams): Float64Array {
  const dw = new Float64Array(wShape[0] * wShape[1] * wShape[2]);
  forEachProduct(xShape, wShape, p, (yi, wi, xi) => (dw[wi] += dy[yi] * x[xi]));
  return dw;
}

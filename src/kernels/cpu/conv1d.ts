// CPU reference of the conv1d family (torch.nn.functional.conv1d semantics, zero padding, groups = 1).
// Layout: x [N, Cin, L], w [Cout, Cin, K], y and dy [N, Cout, Lout], row-major;
// Lout = floor((L + 2·padding − dilation·(K − 1) − 1) / stride) + 1.
// Output position lo reads input position lo·stride − padding + k·dilation (zero outside [0, L)).

import { conv1dGeometry, type Conv1dParams } from '../geometry.js';

/** y[n, co, lo] = bias[co] + Σ_ci Σ_k w[co, ci, k] · x[n, ci, lo·stride − padding + k·dilation]. */
export function conv1d(
  x: ArrayLike<number>,
  xShape: number[],
  w: ArrayLike<number>,
  wShape: number[],
  bias: ArrayLike<number> | null,
  p: Conv1dParams,
): Float64Array {
  const { N, Cin, L, Cout, K, Lout } = conv1dGeometry(xShape, wShape, p);
  const y = new Float64Array(N * Cout * Lout);
  for (let n = 0; n < N; n++) {
    for (let co = 0; co < Cout; co++) {
      for (let lo = 0; lo < Lout; lo++) {
        let sum = bias ? bias[co] : 0;
        for (let ci = 0; ci < Cin; ci++) {
          for (let k = 0; k < K; k++) {
            const l = lo * p.stride - p.padding + k * p.dilation;
            if (l >= 0 && l < L) sum += w[(co * Cin + ci) * K + k] * x[(n * Cin + ci) * L + l];
          }
        }
        y[(n * Cout + co) * Lout + lo] = sum;
      }
    }
  }
  return y;
}

/** dx [N, Cin, L]: every product of the forward pass sends dy·w back to the input position it read. */
export function conv1dBackwardInput(
  dy: ArrayLike<number>,
  w: ArrayLike<number>,
  xShape: number[],
  wShape: number[],
  p: Conv1dParams,
): Float64Array {
  const { N, Cin, L, Cout, K, Lout } = conv1dGeometry(xShape, wShape, p);
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

/** dw [Cout, Cin, K]: dw[co, ci, k] = Σ_n Σ_lo dy[n, co, lo] · x[n, ci, lo·stride − padding + k·dilation]. */
export function conv1dBackwardWeight(
  dy: ArrayLike<number>,
  x: ArrayLike<number>,
  xShape: number[],
  wShape: number[],
  p: Conv1dParams,
): Float64Array {
  const { N, Cin, L, Cout, K, Lout } = conv1dGeometry(xShape, wShape, p);
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

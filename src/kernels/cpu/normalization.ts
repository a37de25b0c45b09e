// CPU reference of batch normalisation (../normalization.ts is the WebGPU side).
// x [N, C, L] row-major (L = 1 for [N, C] inputs): channel c owns the N·L values x[n, c, l].
// Statistics are the batch mean and the BIASED variance (divided by N·L), as torch uses to normalise in training.

/** Per-channel mean and biased variance over N·L, two-pass in float64. */
export function batchNormStats(x: ArrayLike<number>, shape: number[]): { mean: Float64Array; variance: Float64Array } {
  const [N, C, L] = shape;
  const count = N * L;
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let sum = 0;
    for (let n = 0; n < N; n++) for (let l = 0; l < L; l++) sum += x[(n * C + c) * L + l];
    const m = sum / count;
    let squares = 0;
    for (let n = 0; n < N; n++) {
      for (let l = 0; l < L; l++) {
        const d = x[(n * C + c) * L + l] - m;
        squares += d * d;
      }
    }
    mean[c] = m;
    variance[c] = squares / count;
  }
  return { mean, variance };
}

/** A running average's update in training, as torch's: (1 − momentum)·running + momentum·correction·batch
 * (correction M/(M − 1) for the variance, whose running average is the unbiased one). */
export function batchNormRunning(running: ArrayLike<number>, batch: ArrayLike<number>, momentum: number, correction: number): Float64Array {
  return Float64Array.from(running, (v, c) => (1 - momentum) * v + momentum * correction * batch[c]);
}

/** y = (x − mean[c]) / sqrt(variance[c] + eps) · gamma[c] + beta[c], then max(y, 0) with `relu`. */
export function batchNormApply(
  x: ArrayLike<number>,
  shape: number[],
  mean: ArrayLike<number>,
  variance: ArrayLike<number>,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  eps: number,
  relu = false,
): Float64Array {
  const [N, C, L] = shape;
  const y = new Float64Array(N * C * L);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const invStd = 1 / Math.sqrt(variance[c] + eps);
      for (let l = 0; l < L; l++) {
        const i = (n * C + c) * L + l;
        const v = (x[i] - mean[c]) * invStd * gamma[c] + beta[c];
        y[i] = relu && v < 0 ? 0 : v;
      }
    }
  }
  return y;
}

/**
 * Training-mode backward of batchNormApply, where mean and variance are the batch statistics of x itself
 * (so the gradient flows through them too). With M = N·L, x̂ = (x − mean)·invStd:
 *   dbeta = Σ dy,  dgamma = Σ dy·x̂,  dx = gamma·invStd/M · (M·dy − dbeta − x̂·dgamma).
 * With `reluOutput` (the output of the fused relu), dy is taken as 0 where that output is ≤ 0 (not
 * where it is NaN: torch passes the gradient there).
 */
export function batchNormBackward(
  x: ArrayLike<number>,
  dy: ArrayLike<number>,
  shape: number[],
  mean: ArrayLike<number>,
  variance: ArrayLike<number>,
  gamma: ArrayLike<number>,
  eps: number,
  reluOutput?: ArrayLike<number>,
): { dx: Float64Array; dgamma: Float64Array; dbeta: Float64Array } {
  const [N, C, L] = shape;
  const M = N * L;
  if (reluOutput) dy = Float64Array.from(dy, (g, i) => (reluOutput[i] <= 0 ? 0 : g));
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
        sumDyXhat += dy[i] * (x[i] - mean[c]) * invStd;
      }
    }
    dbeta[c] = sumDy;
    dgamma[c] = sumDyXhat;
    const k = (gamma[c] * invStd) / M;
    for (let n = 0; n < N; n++) {
      for (let l = 0; l < L; l++) {
        const i = (n * C + c) * L + l;
        const xhat = (x[i] - mean[c]) * invStd;
        dx[i] = k * (M * dy[i] - sumDy - xhat * sumDyXhat);
      }
    }
  }
  return { dx, dgamma, dbeta };
}

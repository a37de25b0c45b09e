// CPU reference of the GEMM family: C[M,N] = op(A)·op(B) (+ bias[N] per row) (then relu), float64
// accumulation. A is [M,K] row-major, or [K,M] when transA; B is [K,N], or [N,K] when transB.
// The backward passes are this same function with transpose flags (see gemmBackward below), which the tests
// check against finite differences.

import type { GemmOptions } from '../gemm.js';

export interface CpuGemmOptions extends Omit<GemmOptions, 'bias'> {
  bias?: ArrayLike<number> | null;
}

export function gemm(a: ArrayLike<number>, b: ArrayLike<number>, o: CpuGemmOptions): Float64Array {
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
      if (o.activation === 'relu' && s < 0) s = 0; // as torch: NaN and −0 stay
      out[m * N + n] = s;
    }
  }
  return out;
}

/** Gradients of C = op(A)·op(B) + bias (no activation) for a given dC [M,N], in A's and B's stored layouts:
 * dA = dC·op(B)ᵀ (stored transposed when transA), dB = op(A)ᵀ·dC (likewise), dbias = Σ_rows dC.
 * This is the formula autograd uses; it is written with gemm itself, as the GPU path does. */
export function gemmBackward(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  dc: ArrayLike<number>,
  o: CpuGemmOptions,
): { da: Float64Array; db: Float64Array; dbias: Float64Array } {
  const { M, N, K } = o;
  // dA stored [M,K]: dC[M,N]·op(B)ᵀ; op(B)ᵀ is B as stored [N,K] when transB, else B [K,N] transposed.
  // dA stored [K,M] (transA): op(B)·dCᵀ = (dC·op(B)ᵀ)ᵀ.
  const da = o.transA
    ? gemm(b, dc, { M: K, N: M, K: N, transA: !!o.transB, transB: true })
    : gemm(dc, b, { M, N: K, K: N, transB: !o.transB });
  // dB stored [K,N]: op(A)ᵀ·dC; dB stored [N,K] (transB): dCᵀ·op(A).
  const db = o.transB
    ? gemm(dc, a, { M: N, N: K, K: M, transA: true, transB: !!o.transA })
    : gemm(a, dc, { M: K, N, K: M, transA: !o.transA });
  const dbias = new Float64Array(N);
  for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) dbias[n] += dc[m * N + n];
  return { da, db, dbias };
}

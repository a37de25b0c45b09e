// Correctness checks run before anything is timed: a result (ours, or TensorFlow.js's brought back to our
// layout) against the float64 CPU reference, and the layout changes between our [N,C,L] and tfjs's
// channels-last [N,1,L,C] (conv1d as a conv2d of height 1).

/** Uniform values in [lo, hi), deterministic in seed (xorshift32: inputs of 12 M values are made per case). */
export function randomArray(length: number, seed: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(length);
  let s = (seed * 0x9e3779b1) >>> 0 || 1;
  const scale = (hi - lo) / 4294967296;
  for (let i = 0; i < length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    a[i] = lo + (s >>> 0) * scale;
  }
  return a;
}

export interface CheckResult {
  label: string;
  /** max |got − want| / max |want|: the error relative to the output's range. */
  error: number;
  ok: boolean;
}

/** Fails on any non-finite value or a max error above tol relative to the largest reference magnitude. */
export function compare(label: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: number): CheckResult {
  if (got.length !== want.length) return { label: `${label}: ${got.length} values, expected ${want.length}`, error: Infinity, ok: false };
  let maxErr = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!Number.isFinite(got[i]) || Number.isNaN(d)) return { label: `${label}: value ${i} is ${got[i]}, expected ${want[i]}`, error: Infinity, ok: false };
    maxErr = Math.max(maxErr, d);
    scale = Math.max(scale, Math.abs(want[i]));
  }
  const error = maxErr / Math.max(scale, 1e-30);
  return { label, error, ok: error <= tol };
}

/** The listed rows of a row-major matrix [rows, width]. */
export function gatherRows(data: ArrayLike<number>, width: number, rowList: number[]): Float32Array {
  const out = new Float32Array(rowList.length * width);
  rowList.forEach((r, i) => {
    for (let j = 0; j < width; j++) out[i * width + j] = data[r * width + j];
  });
  return out;
}

/** The sub-tensor x[n ∈ ns, c ∈ cs, :] of x [N,C,L]. */
export function gather3(x: ArrayLike<number>, shape: number[], ns: number[], cs: number[]): Float32Array {
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

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** A few distinct indices in [0, n): the first, the last and one between (edges catch indexing slips). */
export function probes(n: number): number[] {
  return [...new Set([0, n - 1, Math.floor(n / 2) + (n > 4 ? 1 : 0)].filter((i) => i >= 0 && i < n))].sort((a, b) => a - b);
}

/** [N,C,L] → [N,L,C] (tfjs's channels-last, conv1d as NHWC with H = 1). */
export function nclToNlc(x: ArrayLike<number>, [N, C, L]: number[]): Float32Array {
  const out = new Float32Array(N * C * L);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let l = 0; l < L; l++) out[(n * L + l) * C + c] = x[(n * C + c) * L + l];
  return out;
}

/** [N,L,C] → [N,C,L]. */
export function nlcToNcl(x: ArrayLike<number>, [N, C, L]: number[]): Float32Array {
  const out = new Float32Array(N * C * L);
  for (let n = 0; n < N; n++) for (let l = 0; l < L; l++) for (let c = 0; c < C; c++) out[(n * C + c) * L + l] = x[(n * L + l) * C + c];
  return out;
}

/** Our conv weight [Cout,Cin,K] → tfjs's conv2d filter [1,K,Cin,Cout] (HWIO). */
export function weightToHwio(w: ArrayLike<number>, [Cout, Cin, K]: number[]): Float32Array {
  const out = new Float32Array(Cout * Cin * K);
  for (let co = 0; co < Cout; co++) for (let ci = 0; ci < Cin; ci++) for (let k = 0; k < K; k++) out[(k * Cin + ci) * Cout + co] = w[(co * Cin + ci) * K + k];
  return out;
}

/** tfjs filter [1,K,Cin,Cout] → ours [Cout,Cin,K]. */
export function hwioToWeight(w: ArrayLike<number>, [Cout, Cin, K]: number[]): Float32Array {
  const out = new Float32Array(Cout * Cin * K);
  for (let co = 0; co < Cout; co++) for (let ci = 0; ci < Cin; ci++) for (let k = 0; k < K; k++) out[(co * Cin + ci) * K + k] = w[(k * Cin + ci) * Cout + co];
  return out;
}

// The geometry of the sliding-window families, computed once per call (as tfjs's computeConv2DInfo): ops.ts
// checks the arguments and computes it, and every kernel of the family, CPU reference and GPU variants alike,
// receives it and never recomputes it. Layout: x [N, C(in), L], row-major.

export interface Conv1dParams {
  stride: number;
  padding: number;
  dilation: number;
}

/** x [N, Cin, L], w [Cout, Cin, K] → y [N, Cout, Lout]; output position lo reads lo·stride − padding + k·dilation.
 * Never changed once made: the kernels keep names and tuning keys per geometry object (conv1d-partials.ts). */
export interface Conv1dGeometry extends Readonly<Conv1dParams> {
  readonly N: number;
  readonly Cin: number;
  readonly L: number;
  readonly Cout: number;
  readonly K: number;
  readonly Lout: number;
}

/** Lout = floor((L + 2·padding − dilation·(K − 1) − 1) / stride) + 1 (may be < 1: ops.ts refuses that). */
export function conv1dGeometry(xShape: readonly number[], wShape: readonly number[], p: Conv1dParams): Conv1dGeometry {
  const [N, Cin, L] = xShape;
  const [Cout, , K] = wShape;
  const Lout = Math.floor((L + 2 * p.padding - p.dilation * (K - 1) - 1) / p.stride) + 1;
  return { N, Cin, L, Cout, K, Lout, stride: p.stride, padding: p.padding, dilation: p.dilation };
}

export interface Pool1dParams {
  kernelSize: number;
  stride: number;
  padding: number;
}

/** x [N, C, L] → y [N, C, Lout]; window j covers the padded positions j·stride − padding + [0, kernelSize). */
export interface Pool1dGeometry extends Pool1dParams {
  N: number;
  C: number;
  L: number;
  Lout: number;
}

/** Lout = floor((L + 2·padding − kernelSize) / stride) + 1 (floor mode). */
export function pool1dGeometry(xShape: readonly number[], p: Pool1dParams): Pool1dGeometry {
  const [N, C, L] = xShape;
  const Lout = Math.floor((L + 2 * p.padding - p.kernelSize) / p.stride) + 1;
  return { N, C, L, Lout, kernelSize: p.kernelSize, stride: p.stride, padding: p.padding };
}

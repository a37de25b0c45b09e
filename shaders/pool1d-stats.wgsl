// Statistics pooling (x-vector): each row of x [rows, L] (rows = N·C) pooled over all of L into its mean and its
// standard deviation sd = sqrt(mean((x − mean)²) + eps) (population variance, eps inside the root), written to
// y [N, 2C] as [means | sds] along axis 1: row r = n·C + c gives y[n·2C + c] and y[n·2C + C + c].
//
// forward, two passes over the row: the sum (→ mean), then the deviations d = x − mean, variance
//   (Σd² − (Σd)²/L)/L: not E[x²] − mean², which cancels catastrophically when |mean| ≫ sd, and with the
//   correction (Σd)²/L, which removes the first-order effect of the rounding in the mean (the "corrected
//   two-pass algorithm" of Chan, Golub and LeVeque; Σd is 0 in exact arithmetic). Two ways to split the work, the same
//   arithmetic (the walks are written once, below), as in softmax.wgsl:
//   rows: a thread per row (r = gid.x + gid.y·nwg.x·WG), no barriers; for many rows (the model's case).
//   wide: a workgroup per row (r = wg.x + wg.y·nwg.x); its threads take every WG-th value and meet in a tree
//         reduction after each pass; for a few long rows, where a thread per row would leave the device idle.
// backward: a thread per element of dx (numbered as `rows`), from the forward's statistics (its output y) and
//   dy [N, 2C]:  dx = dmean/L + dsd·(x − mean)/(L·sd)
//   (∂sd/∂x_t = (x_t − mean)/(L·sd): the mean's own dependence on x_t drops out, as Σ (x − mean) = 0).

struct Params {
  rows: u32,
  C: u32,
  L: u32,
  eps: f32,
}

override WG: u32 = 64; // a power of two: the tree reduction halves it

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> output: array<f32>; // y forward, dx backward
// Backward only: the forward's y, and dy.
@group(0) @binding(3) var<storage, read> y: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;

var<workgroup> scratch: array<vec2f, WG>;

/** The sum of every thread's v, returned to all threads. */
fn workgroupSum(t: u32, v: vec2f) -> vec2f {
  scratch[t] = v;
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (t < s) {
      scratch[t] += scratch[t + s];
    }
  }
  workgroupBarrier();
  let result = scratch[0];
  workgroupBarrier(); // before anyone overwrites scratch[0] again
  return result;
}

/** Index in y [N, 2C] of row r's mean; its sd is C further. */
fn meanIndex(r: u32) -> u32 {
  let n = r / params.C;
  return r + n * params.C;
}

// The walks over the values first, first + step, ... of the row at offset o: a `rows` thread takes them all
// (first 0, step 1), a `wide` thread every WG-th. Their sums are pairwise (pairwise-sum.wgsl): rows may be long.

fn rowSum(o: u32, first: u32, step: u32) -> f32 {
  var sum: PairwiseSum;
  for (var j = first; j < params.L;) {
    var block = 0.0;
    for (let end = min(params.L, j + PAIRWISE_BLOCK * step); j < end; j += step) {
      block += x[o + j];
    }
    pairwiseAdd(&sum, block);
  }
  return pairwiseTotal(&sum);
}

/** (Σd, Σd²) of the deviations d = x − mean. */
fn rowDeviations(o: u32, first: u32, step: u32, mean: f32) -> vec2f {
  var deviations: PairwiseSum;
  var squares: PairwiseSum;
  for (var j = first; j < params.L;) {
    var block = vec2f(0.0);
    for (let end = min(params.L, j + PAIRWISE_BLOCK * step); j < end; j += step) {
      let d = x[o + j] - mean;
      block += vec2f(d, d * d);
    }
    pairwiseAdd(&deviations, block.x);
    pairwiseAdd(&squares, block.y);
  }
  return vec2f(pairwiseTotal(&deviations), pairwiseTotal(&squares));
}

fn writeStats(r: u32, mean: f32, deviations: vec2f) {
  let L = f32(params.L);
  let squares = deviations.y - deviations.x * deviations.x / L;
  let i = meanIndex(r);
  output[i] = mean;
  // Not below 0 by rounding (a constant row), and a NaN stays one (max() may drop it).
  output[i + params.C] = sqrt(select(squares, 0.0, squares < 0.0) / L + params.eps);
}

@compute @workgroup_size(WG)
fn rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= params.rows) {
    return;
  }
  let o = r * params.L;
  let mean = rowSum(o, 0u, 1u) / f32(params.L);
  writeStats(r, mean, rowDeviations(o, 0u, 1u, mean));
}

@compute @workgroup_size(WG)
fn wide(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = wg.x + wg.y * nwg.x;
  if (r >= params.rows) {
    return; // the whole workgroup: r is uniform, so the barriers below stay uniform
  }
  let o = r * params.L;
  let mean = workgroupSum(t, vec2f(rowSum(o, t, WG), 0.0)).x / f32(params.L);
  let deviations = workgroupSum(t, rowDeviations(o, t, WG, mean));
  if (t == 0u) {
    writeStats(r, mean, deviations);
  }
}

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = gid.x + gid.y * nwg.x * WG;
  if (e >= params.rows * params.L) {
    return;
  }
  let i = meanIndex(e / params.L);
  let L = f32(params.L);
  output[e] = dy[i] / L + dy[i + params.C] * (x[e] - y[i]) / (L * y[i + params.C]);
}

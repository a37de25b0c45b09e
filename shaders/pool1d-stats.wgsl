// Statistics pooling (x-vector): each row of x [rows, L] (rows = N·C) pooled over all of L into its mean and its
// standard deviation sd = sqrt(mean((x − mean)²) + eps) (population variance, eps inside the root), written to
// y [N, 2C] as [means | sds] along axis 1: row r = n·C + c gives y[n·2C + c] and y[n·2C + C + c].
//
// forward: a workgroup per row (r = wg.x + wg.y·nwg.x, grid1d's 2-D fold). Its threads stride over the row and
//   meet in a tree reduction twice: the sum (→ mean), then the sum of squared deviations from that mean. Two
//   passes, not E[x²] − mean², which cancels catastrophically when |mean| ≫ sd; any L fits, as each thread
//   sums every WG-th value before the tree.
// backward: a thread per element of dx, from the forward's statistics (its output y) and dy [N, 2C]:
//   dx = dmean/L + dsd·(x − mean)/(L·sd)
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
// Backward only (the forward binds x to both again; never read there): the forward's y, and dy.
@group(0) @binding(3) var<storage, read> y: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;

var<workgroup> scratch: array<f32, WG>;

/** The sum of every thread's v, returned to all threads. */
fn workgroupSum(t: u32, v: f32) -> f32 {
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

@compute @workgroup_size(WG)
fn forward(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = wg.x + wg.y * nwg.x;
  if (r >= params.rows) {
    return; // the whole workgroup: r is uniform, so the barriers below stay uniform
  }
  let o = r * params.L;
  var sum = 0.0;
  for (var j = t; j < params.L; j += WG) {
    sum += x[o + j];
  }
  let mean = workgroupSum(t, sum) / f32(params.L);
  var squares = 0.0;
  for (var j = t; j < params.L; j += WG) {
    let d = x[o + j] - mean;
    squares += d * d;
  }
  let variance = workgroupSum(t, squares) / f32(params.L);
  if (t == 0u) {
    let i = meanIndex(r);
    output[i] = mean;
    output[i + params.C] = sqrt(variance + params.eps);
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

// Batch-norm application: y = (x − mean[c]) · scale[c] + beta[c], scale = gamma / sqrt(variance + eps), x and y
// [N, C, L], then ReLU where RELU is set (the model's conv → batch norm → ReLU blocks: one pass instead of two).
// Two ways to cover the tensor, the same arithmetic:
//   rows: for long rows. Workgroup (b, r) covers block b of row r = n·C + c (r = wg.y + wg.z·nwg.y), thread t takes
//         l = b·WG·ITEMS + t + k·WG for k < ITEMS (coalesced). The channel is the same for the whole workgroup, so its
//         four parameters are read once per thread rather than once per element.
//   flat: for short rows (L = 1 for [N, C] inputs). Workgroup g (g = wg.x + wg.y·nwg.x, the grid1d fold) covers
//         elements [g·WG·ITEMS, +WG·ITEMS) with the same coalesced stride; c = (i / L) % C is divided out once per
//         thread and then carried along (a step of WG moves l by stepL and c by stepC, plus a carry), which spares
//         the integer divisions that CPU drivers run one lane at a time.

struct Params {
  N: u32,
  C: u32,
  L: u32,
  stepL: u32, // flat: WG % L
  stepC: u32, // flat: (WG / L) % C
  eps: f32,
}

override WG: u32 = 64;
override ITEMS: u32 = 16;
override RELU: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> variance: array<f32>;
@group(0) @binding(4) var<storage, read> gamma: array<f32>;
@group(0) @binding(5) var<storage, read> beta: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;

fn activate(v: f32) -> f32 {
  return select(v, max(v, 0.0), RELU);
}

fn scaleOf(c: u32) -> f32 {
  return gamma[c] * inverseSqrt(variance[c] + p.eps);
}

@compute @workgroup_size(WG)
fn rows(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = wg.y + wg.z * nwg.y;
  if (r >= p.N * p.C) {
    return;
  }
  let c = r % p.C;
  let m = mean[c];
  let scale = scaleOf(c);
  let shift = beta[c];
  let base = r * p.L;
  let first = wg.x * WG * ITEMS + t;
  for (var k = 0u; k < ITEMS; k++) {
    let l = first + k * WG;
    if (l < p.L) {
      y[base + l] = activate((x[base + l] - m) * scale + shift);
    }
  }
}

@compute @workgroup_size(WG)
fn flat(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let total = p.N * p.C * p.L;
  var i = (wg.x + wg.y * nwg.x) * WG * ITEMS + t;
  let row = i / p.L;
  var l = i - row * p.L;
  var c = row % p.C;
  for (var k = 0u; k < ITEMS; k++) {
    if (i < total) {
      y[i] = activate((x[i] - mean[c]) * scaleOf(c) + beta[c]);
    }
    i += WG;
    l += p.stepL;
    c += p.stepC;
    if (l >= p.L) {
      l -= p.L;
      c += 1u;
    }
    if (c >= p.C) {
      c -= p.C;
    }
  }
}

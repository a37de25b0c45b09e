// Batch norm's elementwise passes over x [N, C, L], one per-channel formula each; BACKWARD picks the pass:
//   apply (forward):         y = (x − mean[c]) · scale[c] + beta[c], scale = gamma / sqrt(variance + eps), then ReLU
//                            where RELU is set (the model's conv → batch norm → ReLU blocks: one pass instead of two).
//   input gradient (backward, after normalization-backward.wgsl has summed dgamma and dbeta), x̂ = (x − mean)·invStd:
//                            dx = gamma·invStd · (dy − (dbeta + x̂·dgamma) / M) = a·dy + b·(x − mean) + d per channel,
//                            M = N·L; with RELU (y the fused ReLU's output) dy counts except where y ≤ 0
//                            (a NaN passes it, as in torch).
// Two ways to cover the tensor, the same arithmetic:
//   rows: for long rows. Workgroup (b, r) covers block b of row r = n·C + c (r = wg.y + wg.z·nwg.y), thread t takes
//         l = b·WG·ITEMS + t + k·WG for k < ITEMS (coalesced). The channel is the same for the whole workgroup, so its
//         parameters are read once per thread rather than once per element.
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
override BACKWARD: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> variance: array<f32>;
@group(0) @binding(4) var<storage, read> gamma: array<f32>;
@group(0) @binding(5) var<storage, read> shift: array<f32>; // beta forward, dbeta backward
@group(0) @binding(6) var<storage, read_write> out: array<f32>; // y forward, dx backward
// Backward only: dy, dgamma, and the fused ReLU's output y (without RELU the host binds dy there again; the
// forward pass binds x at all three). Never read where not needed.
@group(0) @binding(7) var<storage, read> dy: array<f32>;
@group(0) @binding(8) var<storage, read> dgamma: array<f32>;
@group(0) @binding(9) var<storage, read> reluOutput: array<f32>;

/** A channel's constants: out = activate((x − m)·a + d) forward, a·dy + b·(x − m) + d backward. */
struct Channel {
  m: f32,
  a: f32,
  b: f32,
  d: f32,
}

fn channel(c: u32) -> Channel {
  let invStd = inverseSqrt(variance[c] + p.eps);
  let a = gamma[c] * invStd;
  if (BACKWARD) {
    let invM = 1.0 / f32(p.N * p.L);
    return Channel(mean[c], a, -a * invStd * dgamma[c] * invM, -a * shift[c] * invM);
  }
  return Channel(mean[c], a, 0.0, shift[c]);
}

fn element(i: u32, k: Channel) -> f32 {
  if (BACKWARD) {
    // dy, or 0 where the fused ReLU cut its output.
    let g = select(dy[i], 0.0, RELU && reluOutput[i] <= 0.0);
    return k.a * g + k.b * (x[i] - k.m) + k.d;
  }
  let v = (x[i] - k.m) * k.a + k.d;
  return select(v, 0.0, RELU && v < 0.0); // not max(): a NaN stays NaN, as in torch
}

@compute @workgroup_size(WG)
fn rows(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = wg.y + wg.z * nwg.y;
  if (r >= p.N * p.C) {
    return;
  }
  let k = channel(r % p.C);
  let base = r * p.L;
  let first = wg.x * WG * ITEMS + t;
  for (var j = 0u; j < ITEMS; j++) {
    let l = first + j * WG;
    if (l < p.L) {
      out[base + l] = element(base + l, k);
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
  for (var j = 0u; j < ITEMS; j++) {
    if (i < total) {
      out[i] = element(i, channel(c));
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

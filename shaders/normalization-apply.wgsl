// Batch-norm application: y = (x − mean[c]) · gamma[c] / sqrt(variance[c] + eps) + beta[c], x and y [N, C, L].
// Flat and coalesced: workgroup g (g = wg.x + wg.y·nwg.x, the grid1d fold) covers elements [g·WG·ITEMS, +WG·ITEMS),
// thread t takes i = g·WG·ITEMS + t + k·WG for k < ITEMS. The channel c = (i / L) % C is divided out once per
// thread and then carried along: a step of WG moves l by stepL and c by stepC (plus a carry), which spares the
// integer divisions that CPU drivers run one lane at a time.

struct Params {
  total: u32, // N·C·L
  C: u32,
  L: u32,
  stepL: u32, // WG % L
  stepC: u32, // (WG / L) % C
  eps: f32,
}

override WG: u32 = 256;
override ITEMS: u32 = 4;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> variance: array<f32>;
@group(0) @binding(4) var<storage, read> gamma: array<f32>;
@group(0) @binding(5) var<storage, read> beta: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  var i = (wg.x + wg.y * nwg.x) * WG * ITEMS + t;
  if (i >= p.total) {
    return;
  }
  let row = i / p.L;
  var l = i - row * p.L;
  var c = row % p.C;
  for (var k = 0u; k < ITEMS && i < p.total; k++) {
    let scale = gamma[c] * inverseSqrt(variance[c] + p.eps);
    y[i] = (x[i] - mean[c]) * scale + beta[c];
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

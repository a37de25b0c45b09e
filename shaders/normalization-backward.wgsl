// Batch-norm backward in training mode, x and dy [N, C, L], M = N·L values per channel, x̂ = (x − mean)·invStd:
//   dbeta[c] = Σ dy,  dgamma[c] = Σ dy·x̂,  dx = gamma·invStd · (dy − (dbeta + x̂·dgamma) / M).
// Three ways, picked by M as the statistics' (src/kernels/normalization.ts):
//   direct:  short channels: a thread per channel sums dy and dy·(x − mean) over all of it, writes dbeta[c] and
//            dgamma[c], then walks it again for dx. One pass.
//   single:  moderate channels: a workgroup per channel sums them (the chunk walk of normalization-common.wgsl with
//            one chunk), shares the totals through workgroup memory, then every thread writes dx for its share of
//            the channel. One pass.
//   partial + finish, then dx: long channels, few of them (split like normalization-stats.wgsl):
//            partial: workgroup (k, c) writes partials[c, k] = (Σ dy, Σ dy·(x − mean)) over chunk k of channel c;
//            finish:  a thread per channel adds up its partials, writes dbeta[c] and dgamma[c];
//            then the BACKWARD pass of normalization-apply.wgsl writes dx. Three passes.
// With RELU (batch norm followed by a fused ReLU, y its output), every pass reads 0 where y ≤ 0 and dy elsewhere (NaN too, as torch):
// the ReLU's backward without a pass of its own. Each entry point binds y after its other inputs and outputs
// (the host binds dy again there without RELU).

override WG: u32 = 64; // a power of two for `partial`
override RELU: bool = false;

// Bindings of `partial`.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read_write> partials: array<f32>;
@group(0) @binding(5) var<storage, read> partialY: array<f32>;

// Bindings of `finish`.
@group(0) @binding(1) var<storage, read> finishPartials: array<f32>;
@group(0) @binding(2) var<storage, read> finishVariance: array<f32>;
@group(0) @binding(3) var<storage, read_write> dgammaOut: array<f32>;
@group(0) @binding(4) var<storage, read_write> dbetaOut: array<f32>;

// Bindings of `direct` and `single` (x, dy and mean as for `partial`).
@group(0) @binding(4) var<storage, read> directVariance: array<f32>;
@group(0) @binding(5) var<storage, read_write> directDgamma: array<f32>;
@group(0) @binding(6) var<storage, read_write> directDbeta: array<f32>;
@group(0) @binding(7) var<storage, read> directY: array<f32>;
@group(0) @binding(8) var<storage, read> directGamma: array<f32>;
@group(0) @binding(9) var<storage, read_write> directDx: array<f32>;

// dy[i], or 0 where the fused ReLU cut its output (one helper per entry point: each binds y elsewhere).
fn partialDy(i: u32) -> f32 {
  return select(dy[i], 0.0, RELU && partialY[i] <= 0.0);
}
fn directDy(i: u32) -> f32 {
  return select(dy[i], 0.0, RELU && directY[i] <= 0.0);
}

/** dx of channel c in terms of its sums (Σ dy, Σ dy·(x − mean)): dx = a·dy + b·(x − mean) + d, as the BACKWARD
 * pass of normalization-apply.wgsl computes it. Writes dbeta[c] and dgamma[c] when `owner`. */
struct Gradient {
  a: f32,
  b: f32,
  d: f32,
}

fn gradient(c: u32, sums: vec2f, owner: bool) -> Gradient {
  let invStd = inverseSqrt(directVariance[c] + p.eps);
  let dgamma = sums.y * invStd;
  if (owner) {
    directDbeta[c] = sums.x;
    directDgamma[c] = dgamma;
  }
  let a = directGamma[c] * invStd;
  let invM = 1.0 / f32(p.N * p.L);
  return Gradient(a, -a * invStd * dgamma * invM, -a * sums.x * invM);
}

var<workgroup> sharedDy: array<f32, WG>;
var<workgroup> sharedDyXc: array<f32, WG>;

/** Tree-sums every thread's pair; the result is valid in thread 0. */
fn reducePair(t: u32, own: vec2f) -> vec2f {
  var acc = own;
  sharedDy[t] = acc.x;
  sharedDyXc[t] = acc.y;
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (t < s) {
      acc += vec2f(sharedDy[t + s], sharedDyXc[t + s]);
      sharedDy[t] = acc.x;
      sharedDyXc[t] = acc.y;
    }
  }
  return acc;
}

@compute @workgroup_size(WG)
fn partial(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = walkChannel(wg, nwg);
  if (c >= p.C) {
    return;
  }
  let m = mean[c];
  var own = vec2f(0.0);
  for (var w = walkStart(t, wg.x); w.j < w.end; w = walkNext(w)) {
    let i = walkIndex(w, c);
    let g = partialDy(i);
    own += vec2f(g, g * (x[i] - m));
  }

  let total = reducePair(t, own);
  if (t == 0u) {
    let o = (c * p.chunks + wg.x) * 2u;
    partials[o] = total.x;
    partials[o + 1u] = total.y;
  }
}

@compute @workgroup_size(WG)
fn finish(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = gid.x + gid.y * nwg.x * WG;
  if (c >= p.C) {
    return;
  }
  var total = vec2f(0.0);
  for (var k = 0u; k < p.chunks; k++) {
    let o = (c * p.chunks + k) * 2u;
    total += vec2f(finishPartials[o], finishPartials[o + 1u]);
  }
  dbetaOut[c] = total.x;
  dgammaOut[c] = total.y * inverseSqrt(finishVariance[c] + p.eps);
}

@compute @workgroup_size(WG)
fn single(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = walkChannel(wg, nwg);
  if (c >= p.C) {
    return;
  }
  let m = mean[c];
  var own = vec2f(0.0);
  for (var w = walkStart(t, 0u); w.j < w.end; w = walkNext(w)) {
    let i = walkIndex(w, c);
    let g = directDy(i);
    own += vec2f(g, g * (x[i] - m));
  }
  // reducePair leaves the totals in slot 0 of the shared arrays (written last by thread 0): after a barrier every
  // thread reads them there.
  reducePair(t, own);
  workgroupBarrier();
  let k = gradient(c, vec2f(sharedDy[0], sharedDyXc[0]), t == 0u);
  for (var w = walkStart(t, 0u); w.j < w.end; w = walkNext(w)) {
    let i = walkIndex(w, c);
    directDx[i] = k.a * directDy(i) + k.b * (x[i] - m) + k.d;
  }
}

@compute @workgroup_size(WG)
fn direct(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = gid.x + gid.y * nwg.x * WG;
  if (c >= p.C) {
    return;
  }
  let m = mean[c];
  var total = vec2f(0.0);
  for (var n = 0u; n < p.N; n++) {
    let base = (n * p.C + c) * p.L;
    for (var l = 0u; l < p.L; l++) {
      let g = directDy(base + l);
      total += vec2f(g, g * (x[base + l] - m));
    }
  }
  let k = gradient(c, total, true);
  for (var n = 0u; n < p.N; n++) {
    let base = (n * p.C + c) * p.L;
    for (var l = 0u; l < p.L; l++) {
      directDx[base + l] = k.a * directDy(base + l) + k.b * (x[base + l] - m) + k.d;
    }
  }
}

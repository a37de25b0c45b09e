// Batch-norm backward in training mode, x and dy [N, C, L], M = N·L values per channel, x̂ = (x − mean)·invStd:
//   dbeta[c] = Σ dy,  dgamma[c] = Σ dy·x̂,  dx = gamma·invStd · (dy − (dbeta + x̂·dgamma) / M).
// dbeta and dgamma, for long channels in two passes (split like normalization-stats.wgsl; the uniforms and the
// chunk walk are normalization-common.wgsl's):
//   partial: workgroup (k, c) sums dy and dy·(x − mean) over chunk k of channel c; writes
//            partials[c, k] = (Σ dy, Σ dy·(x − mean)).
//   finish:  a thread per channel adds up its partials; writes dbeta[c] and dgamma[c].
// and for short channels in one:
//   direct:  a thread per channel sums all of it.
// then dx, from them, by the BACKWARD pass of normalization-apply.wgsl.
// With RELU (batch norm followed by a fused ReLU, y its output), every pass reads dy where y > 0 and 0 elsewhere:
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

// Bindings of `direct` (x, dy and mean as for `partial`).
@group(0) @binding(4) var<storage, read> directVariance: array<f32>;
@group(0) @binding(5) var<storage, read_write> directDgamma: array<f32>;
@group(0) @binding(6) var<storage, read_write> directDbeta: array<f32>;
@group(0) @binding(7) var<storage, read> directY: array<f32>;

// dy[i], or 0 where the fused ReLU cut its output (one helper per entry point: each binds y elsewhere).
fn partialDy(i: u32) -> f32 {
  return select(dy[i], select(0.0, dy[i], partialY[i] > 0.0), RELU);
}
fn directDy(i: u32) -> f32 {
  return select(dy[i], select(0.0, dy[i], directY[i] > 0.0), RELU);
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
  directDbeta[c] = total.x;
  directDgamma[c] = total.y * inverseSqrt(directVariance[c] + p.eps);
}

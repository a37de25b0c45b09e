// Batch-norm backward in training mode, x and dy [N, C, L], M = N·L values per channel, x̂ = (x − mean)·invStd:
//   dbeta[c] = Σ dy,  dgamma[c] = Σ dy·x̂,  dx = gamma·invStd · (dy − (dbeta + x̂·dgamma) / M).
// Three passes:
//   partial: workgroup (k, c) sums dy and dy·(x − mean) over chunk k of channel c (the walk of
//            normalization-stats.wgsl); writes partials[c, k] = (Σ dy, Σ dy·(x − mean)).
//   finish:  workgroup c adds up its partials; writes dbeta[c] and dgamma[c].
//   inputGradient: dx, flat and coalesced like normalization-apply.wgsl.

struct Params {
  N: u32,
  C: u32,
  L: u32,
  chunk: u32,  // channel elements per `partial` workgroup (a multiple of WG)
  chunks: u32, // partials per channel
  stepN: u32,  // partial: WG / L;  inputGradient: unused
  stepL: u32,  // WG % L
  stepC: u32,  // inputGradient: (WG / L) % C;  partial: unused
  eps: f32,
}

override WG: u32 = 256; // a power of two for `partial` and `finish`
override ITEMS: u32 = 4; // elements per thread in `inputGradient`

@group(0) @binding(0) var<uniform> p: Params;

// Bindings of `partial`.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read_write> partials: array<f32>;

// Bindings of `finish`.
@group(0) @binding(1) var<storage, read> finishPartials: array<f32>;
@group(0) @binding(2) var<storage, read> finishVariance: array<f32>;
@group(0) @binding(3) var<storage, read_write> dgammaOut: array<f32>;
@group(0) @binding(4) var<storage, read_write> dbetaOut: array<f32>;

// Bindings of `inputGradient` (x, dy and mean as for `partial`).
@group(0) @binding(4) var<storage, read> variance: array<f32>;
@group(0) @binding(5) var<storage, read> gamma: array<f32>;
@group(0) @binding(6) var<storage, read> dgamma: array<f32>;
@group(0) @binding(7) var<storage, read> dbeta: array<f32>;
@group(0) @binding(8) var<storage, read_write> dx: array<f32>;

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
  let c = wg.y + wg.z * nwg.y;
  if (c >= p.C) {
    return;
  }
  let start = wg.x * p.chunk;
  let end = min(start + p.chunk, p.N * p.L);
  let rowStride = p.C * p.L;
  let channelOffset = c * p.L;
  let m = mean[c];

  var own = vec2f(0.0);
  var j = start + t;
  var n = j / p.L;
  var l = j - n * p.L;
  for (; j < end; j += WG) {
    let i = n * rowStride + channelOffset + l;
    let g = dy[i];
    own += vec2f(g, g * (x[i] - m));
    l += p.stepL;
    n += p.stepN;
    if (l >= p.L) {
      l -= p.L;
      n += 1u;
    }
  }

  let total = reducePair(t, own);
  if (t == 0u) {
    let o = (c * p.chunks + wg.x) * 2u;
    partials[o] = total.x;
    partials[o + 1u] = total.y;
  }
}

@compute @workgroup_size(WG)
fn finish(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = wg.y + wg.z * nwg.y;
  if (c >= p.C) {
    return;
  }
  var own = vec2f(0.0);
  for (var k = t; k < p.chunks; k += WG) {
    let o = (c * p.chunks + k) * 2u;
    own += vec2f(finishPartials[o], finishPartials[o + 1u]);
  }
  let total = reducePair(t, own);
  if (t == 0u) {
    dbetaOut[c] = total.x;
    dgammaOut[c] = total.y * inverseSqrt(finishVariance[c] + p.eps);
  }
}

@compute @workgroup_size(WG)
fn inputGradient(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let total = p.N * p.C * p.L;
  var i = (wg.x + wg.y * nwg.x) * WG * ITEMS + t;
  if (i >= total) {
    return;
  }
  let invM = 1.0 / f32(p.N * p.L);
  let row = i / p.L;
  var l = i - row * p.L;
  var c = row % p.C;
  for (var k = 0u; k < ITEMS && i < total; k++) {
    let invStd = inverseSqrt(variance[c] + p.eps);
    let xhat = (x[i] - mean[c]) * invStd;
    dx[i] = gamma[c] * invStd * (dy[i] - (dbeta[c] + xhat * dgamma[c]) * invM);
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

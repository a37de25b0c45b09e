// Batch-norm statistics: per-channel mean and biased variance of x [N, C, L] over the M = N·L values
// x[n, c, l] of each channel, stable in float32 (Welford's update within a thread, Chan's merge between threads).
// For long channels, two passes:
//   partial: workgroup (k, c) walks chunk k of channel c (normalization-common.wgsl), then tree-merges its
//            threads' moments; writes partials[c, k] = (count, mean, M2).
//   finish:  a thread per channel merges the channel's `chunks` partials; writes mean[c] and variance[c] = M2 / count.
// For short channels, one:
//   direct:  a thread per channel walks all of it (no barriers, no partials).
// `finish` and `direct` find their channel as c = gid.x + gid.y·nwg.x·WG (the grid1d fold).

override WG: u32 = 64; // a power of two for `partial`

// Bindings of `partial`.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;

// Bindings of `finish` (entry points that never run together may share binding numbers); `direct` binds x, mean
// and variance.
@group(0) @binding(1) var<storage, read> finishPartials: array<f32>;
@group(0) @binding(2) var<storage, read_write> mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> variance: array<f32>;

struct Moments {
  count: f32,
  mean: f32,
  m2: f32, // Σ (x − mean)²
}

/** Chan et al.'s pairwise combination of two sets' moments. */
fn merge(a: Moments, b: Moments) -> Moments {
  let count = a.count + b.count;
  if (b.count == 0.0) {
    return a;
  }
  let d = b.mean - a.mean;
  let fb = b.count / count;
  return Moments(count, a.mean + d * fb, a.m2 + b.m2 + d * d * a.count * fb);
}

var<workgroup> sharedCount: array<f32, WG>;
var<workgroup> sharedMean: array<f32, WG>;
var<workgroup> sharedM2: array<f32, WG>;

/** Tree-merges every thread's moments; the result is valid in thread 0. */
fn reduceMoments(t: u32, own: Moments) -> Moments {
  var acc = own;
  sharedCount[t] = acc.count;
  sharedMean[t] = acc.mean;
  sharedM2[t] = acc.m2;
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (t < s) {
      acc = merge(acc, Moments(sharedCount[t + s], sharedMean[t + s], sharedM2[t + s]));
      sharedCount[t] = acc.count;
      sharedMean[t] = acc.mean;
      sharedM2[t] = acc.m2;
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
  var own = Moments(0.0, 0.0, 0.0);
  for (var w = walkStart(t, wg.x); w.j < w.end; w = walkNext(w)) {
    let v = x[walkIndex(w, c)];
    own.count += 1.0;
    let d = v - own.mean;
    own.mean += d / own.count;
    own.m2 += d * (v - own.mean);
  }

  let total = reduceMoments(t, own);
  if (t == 0u) {
    let o = (c * p.chunks + wg.x) * 3u;
    partials[o] = total.count;
    partials[o + 1u] = total.mean;
    partials[o + 2u] = total.m2;
  }
}

@compute @workgroup_size(WG)
fn finish(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = gid.x + gid.y * nwg.x * WG;
  if (c >= p.C) {
    return;
  }
  var total = Moments(0.0, 0.0, 0.0);
  for (var k = 0u; k < p.chunks; k++) {
    let o = (c * p.chunks + k) * 3u;
    total = merge(total, Moments(finishPartials[o], finishPartials[o + 1u], finishPartials[o + 2u]));
  }
  mean[c] = total.mean;
  variance[c] = max(total.m2 / total.count, 0.0);
}

@compute @workgroup_size(WG)
fn direct(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = gid.x + gid.y * nwg.x * WG;
  if (c >= p.C) {
    return;
  }
  var count = 0.0;
  var m = 0.0;
  var m2 = 0.0;
  for (var n = 0u; n < p.N; n++) {
    let base = (n * p.C + c) * p.L;
    for (var l = 0u; l < p.L; l++) {
      let v = x[base + l];
      count += 1.0;
      let d = v - m;
      m += d / count;
      m2 += d * (v - m);
    }
  }
  mean[c] = m;
  variance[c] = max(m2 / count, 0.0);
}

// Batch-norm statistics: per-channel mean and biased variance of x [N, C, L] over the M = N·L values
// x[n, c, l] of each channel, stable in float32 (Welford's update within a thread, Chan's merge between threads).
// Three ways, picked by M (src/kernels/normalization.ts), each ending in the entry point that writes the results:
//   direct:  short channels: a thread per channel walks all of it (no barriers, no partials). One pass.
//   single:  moderate channels: a workgroup per channel walks it (the chunk walk of normalization-common.wgsl with
//            one chunk), then tree-merges its threads' moments. One pass.
//   partial + finish: long channels, few of them: workgroup (k, c) walks chunk k of channel c and writes
//            partials[c, k] = (count, mean, M2); then a thread per channel merges its `chunks` partials.
// With RUNNING (training), whichever pass writes mean[c] and variance[c] also updates running_mean[c] and
// running_var[c] in place, so the running averages cost no pass of their own.
// With APPLY (training, direct and single), the pass then writes y for its channel too, with the forward arithmetic of
// normalization-apply.wgsl (then ReLU where RELU is set): a training-mode forward is one pass for those channels.
// `finish` and `direct` find their channel as c = gid.x + gid.y·nwg.x·WG (the grid1d fold).

override WG: u32 = 64; // a power of two for `partial` and `single`
override RUNNING: bool = false;
override APPLY: bool = false;
override RELU: bool = false;

// Bindings of `partial`.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;

// Bindings of `finish` (entry points that never run together may share binding numbers); `direct` and `single`
// bind x, mean, variance and the running pair. Without RUNNING the host binds scratch at 4 and 5 (never read).
@group(0) @binding(1) var<storage, read> finishPartials: array<f32>;
@group(0) @binding(2) var<storage, read_write> mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> variance: array<f32>;
@group(0) @binding(4) var<storage, read_write> runningMean: array<f32>;
@group(0) @binding(5) var<storage, read_write> runningVar: array<f32>;
// `direct` and `single` with APPLY: the affine parameters and y. Without APPLY the host binds x at 6 and 7 and
// scratch at 8 (never read or written).
@group(0) @binding(6) var<storage, read> gamma: array<f32>;
@group(0) @binding(7) var<storage, read> beta: array<f32>;
@group(0) @binding(8) var<storage, read_write> y: array<f32>;

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

/** The biased variance of merged moments (clamped: rounding can leave m2 a hair below zero). */
fn biasedVariance(total: Moments) -> f32 {
  return max(total.m2 / total.count, 0.0);
}

/** Writes channel c's statistics (and, with RUNNING, updates its running averages). */
fn store(c: u32, total: Moments) {
  let v = biasedVariance(total);
  mean[c] = total.mean;
  variance[c] = v;
  if (RUNNING) {
    runningMean[c] = p.keep * runningMean[c] + p.rateMean * total.mean;
    runningVar[c] = p.keep * runningVar[c] + p.rateVar * v;
  }
}

/** Welford's update of a thread's moments by one value. */
fn add(own: Moments, v: f32) -> Moments {
  let count = own.count + 1.0;
  let d = v - own.mean;
  let m = own.mean + d / count;
  return Moments(count, m, own.m2 + d * (v - m));
}

/** Channel c's affine map from its statistics, y = (x − mean)·scale + beta, as the apply pass forms it from the
 * stored float32 mean and variance (the same values, so y matches the two-pass forward). */
struct Affine {
  mean: f32,
  scale: f32,
  shift: f32,
}

fn affine(c: u32, total: Moments) -> Affine {
  return Affine(total.mean, gamma[c] * inverseSqrt(biasedVariance(total) + p.eps), beta[c]);
}

fn normalise(i: u32, k: Affine) {
  let v = (x[i] - k.mean) * k.scale + k.shift;
  y[i] = select(v, 0.0, RELU && v < 0.0); // not max(): a NaN stays NaN, as in torch
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
    own = add(own, x[walkIndex(w, c)]);
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
  store(c, total);
}

@compute @workgroup_size(WG)
fn single(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = walkChannel(wg, nwg);
  if (c >= p.C) {
    return;
  }
  var own = Moments(0.0, 0.0, 0.0);
  for (var w = walkStart(t, 0u); w.j < w.end; w = walkNext(w)) {
    own = add(own, x[walkIndex(w, c)]);
  }
  let total = reduceMoments(t, own);
  if (t == 0u) {
    store(c, total);
  }
  if (APPLY) {
    // reduceMoments leaves the merged moments in slot 0 (written last by thread 0): after a barrier every thread
    // reads them there and normalises its share of the channel with the same walk.
    workgroupBarrier();
    let k = affine(c, Moments(sharedCount[0], sharedMean[0], sharedM2[0]));
    for (var w = walkStart(t, 0u); w.j < w.end; w = walkNext(w)) {
      normalise(walkIndex(w, c), k);
    }
  }
}

@compute @workgroup_size(WG)
fn direct(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = gid.x + gid.y * nwg.x * WG;
  if (c >= p.C) {
    return;
  }
  var own = Moments(0.0, 0.0, 0.0);
  for (var n = 0u; n < p.N; n++) {
    let base = (n * p.C + c) * p.L;
    for (var l = 0u; l < p.L; l++) {
      own = add(own, x[base + l]);
    }
  }
  store(c, own);
  if (APPLY) {
    let k = affine(c, own);
    for (var n = 0u; n < p.N; n++) {
      let base = (n * p.C + c) * p.L;
      for (var l = 0u; l < p.L; l++) {
        normalise(base + l, k);
      }
    }
  }
}

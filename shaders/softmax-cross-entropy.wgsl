// Fused softmax + cross-entropy of logits [rows, cols] against targets [rows] (int32 class indices, already checked
// to lie in [0, cols)), optionally with class weights w [cols] (torch's `weight`):
//   loss = Σ_r w[t_r]·(logsumexp(x_r) − x_r[t_r]) / Σ_r w[t_r]   (w ≡ 1 without weights: the mean over rows)
// logsumexp is max-subtracted, so any finite logits give a finite loss.
//   rows, rowsWeighted: a thread per row (grid1d fold) writes probs = softmax(x) and rowLoss [2, rows]: w·l of
//                       row r at r, its w at rows + r. The host sums both halves with the elementwise sumTo (a
//                       tree of short sums: src/kernels/softmax.ts says why).
//   ratio:              one thread writes loss[0] = Σ w·l / Σ w from those two sums.
//   whole, wholeWeighted: both in one workgroup, for batches of a few hundred rows (a training batch; at most 4 rows
//                         a thread, so the sums stay short): one dispatch.

// Bindings of `rows` and `rowsWeighted` (only the latter reads weights).
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read_write> probs: array<f32>;
@group(0) @binding(4) var<storage, read_write> rowLoss: array<f32>;
@group(0) @binding(5) var<storage, read> weights: array<f32>;

// Bindings of `ratio` (entry points that never run together may share binding numbers): sums = (Σ w·l, Σ w).
@group(0) @binding(1) var<storage, read> sums: array<f32>;
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;

// Binding of `whole` and `wholeWeighted` for the loss, the others being those of `rows`.
@group(0) @binding(4) var<storage, read_write> wholeLoss: array<f32>;

/** log(1 + r) for r >= 0, accurate also for small r, where log(1 + r) would round r away (and drivers' log is only
 * required to be within 2^-21 absolute near 1): the series 2·atanh(z) = 2(z + z³/3 + z⁵/5 + z⁷/7), z = r / (2 + r). */
fn log1p(r: f32) -> f32 {
  if (r > 0.1) {
    return log(1.0 + r);
  }
  let z = r / (2.0 + r);
  let z2 = z * z;
  return 2.0 * z * (1.0 + z2 * (1.0 / 3.0 + z2 * (0.2 + z2 * (1.0 / 7.0))));
}

/**
 * Writes softmax(x_r) into probs and returns −log p[t_r] = (max − x_r[t_r]) + log(Σ exp(x − max)). The sum is 1 (the
 * first maximum's term) plus the others, kept apart, so that a confident row's small loss keeps its digits: both
 * terms of the loss are >= 0 and nothing cancels. The others' sum is pairwise (pairwise-sum.wgsl), as softmax's:
 * a row of many classes is a long sum.
 */
fn rowCrossEntropy(r: u32, t: u32) -> f32 {
  let o = r * p.cols;
  var m = logits[o];
  var argmax = 0u;
  for (var j = 1u; j < p.cols; j++) {
    if (logits[o + j] > m) {
      m = logits[o + j];
      argmax = j;
    }
  }
  var sum: PairwiseSum;
  for (var j = 0u; j < p.cols;) {
    var block = 0.0;
    for (let end = min(p.cols, j + PAIRWISE_BLOCK); j < end; j++) {
      let e = exp(logits[o + j] - m);
      probs[o + j] = e;
      block += select(e, 0.0, j == argmax);
    }
    pairwiseAdd(&sum, block);
  }
  let others = pairwiseTotal(&sum);
  let inv = 1.0 / (1.0 + others);
  for (var j = 0u; j < p.cols; j++) {
    probs[o + j] *= inv;
  }
  return (m - logits[o + t]) + log1p(others);
}

@compute @workgroup_size(WG)
fn rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= p.rows) {
    return;
  }
  rowLoss[r] = rowCrossEntropy(r, u32(targets[r]));
  rowLoss[p.rows + r] = 1.0;
}

@compute @workgroup_size(WG)
fn rowsWeighted(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= p.rows) {
    return;
  }
  let t = u32(targets[r]);
  let w = weights[t];
  rowLoss[r] = w * rowCrossEntropy(r, t);
  rowLoss[p.rows + r] = w;
}

var<workgroup> pairs: array<vec2f, WG>;

/** Σ over the workgroup of each thread's (w·l, w), in pairs[0]. */
fn addPairs(t: u32, acc: vec2f) {
  pairs[t] = acc;
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (t < s) {
      pairs[t] += pairs[t + s];
    }
  }
}

@compute @workgroup_size(1)
fn ratio() {
  loss[0] = sums[0] / sums[1];
}

@compute @workgroup_size(WG)
fn whole(@builtin(local_invocation_index) t: u32) {
  var acc = vec2f(0.0);
  for (var r = t; r < p.rows; r += WG) {
    acc += vec2f(rowCrossEntropy(r, u32(targets[r])), 1.0);
  }
  addPairs(t, acc);
  if (t == 0u) {
    wholeLoss[0] = pairs[0].x / pairs[0].y;
  }
}

@compute @workgroup_size(WG)
fn wholeWeighted(@builtin(local_invocation_index) t: u32) {
  var acc = vec2f(0.0);
  for (var r = t; r < p.rows; r += WG) {
    let c = u32(targets[r]);
    let w = weights[c];
    acc += vec2f(w * rowCrossEntropy(r, c), w);
  }
  addPairs(t, acc);
  if (t == 0u) {
    wholeLoss[0] = pairs[0].x / pairs[0].y;
  }
}

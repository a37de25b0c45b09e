// Fused softmax + cross-entropy of logits [rows, cols] against targets [rows] (int32 class indices, already checked
// to lie in [0, cols)), optionally with class weights w [cols] (torch's `weight`):
//   loss = Σ_r w[t_r]·(logsumexp(x_r) − x_r[t_r]) / Σ_r w[t_r]   (w ≡ 1 without weights: the mean over rows)
// logsumexp is max-subtracted, so any finite logits give a finite loss.
//   rows, rowsWeighted: a thread per row (grid1d fold) writes probs = softmax(x) and rowLoss[r] = (w·l, w).
//   mean:               one workgroup adds up the rows' pairs and writes loss[0] = Σ w·l / Σ w.

struct Params {
  rows: u32,
  cols: u32,
}

override WG: u32 = 64; // a power of two for `mean`

@group(0) @binding(0) var<uniform> p: Params;

// Bindings of `rows` and `rowsWeighted` (only the latter reads weights).
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read_write> probs: array<f32>;
@group(0) @binding(4) var<storage, read_write> rowLoss: array<f32>;
@group(0) @binding(5) var<storage, read> weights: array<f32>;

// Bindings of `mean` (entry points that never run together may share binding numbers).
@group(0) @binding(1) var<storage, read> meanRowLoss: array<f32>;
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;

/** Writes softmax(x_r) into probs and returns −log p[t_r] = logsumexp(x_r) − x_r[t_r]. */
fn rowCrossEntropy(r: u32, t: u32) -> f32 {
  let o = r * p.cols;
  var m = logits[o];
  for (var j = 1u; j < p.cols; j++) {
    m = max(m, logits[o + j]);
  }
  var s = 0.0;
  for (var j = 0u; j < p.cols; j++) {
    let e = exp(logits[o + j] - m);
    probs[o + j] = e;
    s += e;
  }
  let inv = 1.0 / s;
  for (var j = 0u; j < p.cols; j++) {
    probs[o + j] *= inv;
  }
  return m + log(s) - logits[o + t];
}

@compute @workgroup_size(WG)
fn rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= p.rows) {
    return;
  }
  rowLoss[2u * r] = rowCrossEntropy(r, u32(targets[r]));
  rowLoss[2u * r + 1u] = 1.0;
}

@compute @workgroup_size(WG)
fn rowsWeighted(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= p.rows) {
    return;
  }
  let t = u32(targets[r]);
  let w = weights[t];
  rowLoss[2u * r] = w * rowCrossEntropy(r, t);
  rowLoss[2u * r + 1u] = w;
}

var<workgroup> scratch: array<vec2f, WG>;

@compute @workgroup_size(WG)
fn mean(@builtin(local_invocation_index) t: u32) {
  var acc = vec2f(0.0);
  for (var r = t; r < p.rows; r += WG) {
    acc += vec2f(meanRowLoss[2u * r], meanRowLoss[2u * r + 1u]);
  }
  scratch[t] = acc;
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (t < s) {
      scratch[t] += scratch[t + s];
    }
  }
  if (t == 0u) {
    loss[0] = scratch[0].x / scratch[0].y;
  }
}

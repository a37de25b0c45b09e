// Softmax over the last dim of [rows, cols] (row-major), max-subtracted, and its backward; BACKWARD picks the pass:
//   forward:  y = exp(x − max) / Σ exp(x − max)
//   backward: dx = y·(dy − inner),  inner = Σ_cols dy·y (per row), given the forward output y.
// Two ways to split the work, the same arithmetic (each pass's walks over a row are written once, below):
//   rows: one thread per row (grid1d over rows: r = gid.x + gid.y·nwg.x·WG); for short rows, no barriers.
//   wide: one workgroup per row (r = wg.x + wg.y·nwg.x), threads stride over the columns and meet in tree
//         reductions (forward: the max, then the sum; backward: inner); for long rows.
// The forward writes exp(x − max) into y first and rescales it in place, so exp runs once per element. A thread's
// sums over its columns are pairwise (pairwise-sum.wgsl): a row may be long.

override BACKWARD: bool = false;

@group(0) @binding(1) var<storage, read> source: array<f32>; // x forward, y backward
// Backward only: the forward pass binds x here again (read-only aliasing is allowed); it is never read.
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> result: array<f32>; // y forward, dx backward

// The walks over the columns first, first + step, ... of the row at offset o: a `rows` thread takes them all
// (first 0, step 1), a `wide` thread every WG-th.

fn rowMax(o: u32, first: u32, step: u32) -> f32 {
  var m = -0x1.fffffep+127f; // the lowest float32
  for (var j = first; j < p.cols; j += step) {
    m = max(m, source[o + j]);
  }
  return m;
}

/** Writes exp(x − m) and returns their sum. */
fn writeExp(o: u32, first: u32, step: u32, m: f32) -> f32 {
  var s: PairwiseSum;
  for (var j = first; j < p.cols;) {
    var block = 0.0;
    for (let end = min(p.cols, j + PAIRWISE_BLOCK * step); j < end; j += step) {
      let e = exp(source[o + j] - m);
      result[o + j] = e;
      block += e;
    }
    pairwiseAdd(&s, block);
  }
  return pairwiseTotal(&s);
}

fn rescale(o: u32, first: u32, step: u32, inv: f32) {
  for (var j = first; j < p.cols; j += step) {
    result[o + j] *= inv;
  }
}

/** Σ dy·y. */
fn innerProduct(o: u32, first: u32, step: u32) -> f32 {
  var inner: PairwiseSum;
  for (var j = first; j < p.cols;) {
    var block = 0.0;
    for (let end = min(p.cols, j + PAIRWISE_BLOCK * step); j < end; j += step) {
      block += dy[o + j] * source[o + j];
    }
    pairwiseAdd(&inner, block);
  }
  return pairwiseTotal(&inner);
}

fn writeGradient(o: u32, first: u32, step: u32, inner: f32) {
  for (var j = first; j < p.cols; j += step) {
    result[o + j] = source[o + j] * (dy[o + j] - inner);
  }
}

@compute @workgroup_size(WG)
fn rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= p.rows) {
    return;
  }
  let o = r * p.cols;
  if (BACKWARD) {
    writeGradient(o, 0u, 1u, innerProduct(o, 0u, 1u));
  } else {
    rescale(o, 0u, 1u, 1.0 / writeExp(o, 0u, 1u, rowMax(o, 0u, 1u)));
  }
}

@compute @workgroup_size(WG)
fn wide(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = wg.x + wg.y * nwg.x;
  if (r >= p.rows) {
    return;
  }
  let o = r * p.cols;
  if (BACKWARD) {
    writeGradient(o, t, WG, workgroupSum(t, innerProduct(o, t, WG)));
  } else {
    let m = workgroupMax(t, rowMax(o, t, WG));
    rescale(o, t, WG, 1.0 / workgroupSum(t, writeExp(o, t, WG, m)));
  }
}

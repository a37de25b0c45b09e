// Softmax over the last dim of x [rows, cols] (row-major), max-subtracted: y = exp(x − max) / Σ exp(x − max).
// Two ways to split the work, the same arithmetic:
//   rows: one thread per row (grid1d over rows: r = gid.x + gid.y·nwg.x·WG); for short rows, no barriers.
//   wide: one workgroup per row (r = wg.x + wg.y·nwg.x), threads stride over the columns and meet in two tree
//         reductions (max, then the sum); for long rows.
// Both write exp(x − max) into y first and rescale it in place, so exp runs once per element.

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= p.rows) {
    return;
  }
  let o = r * p.cols;
  var m = x[o];
  for (var j = 1u; j < p.cols; j++) {
    m = max(m, x[o + j]);
  }
  var s = 0.0;
  for (var j = 0u; j < p.cols; j++) {
    let e = exp(x[o + j] - m);
    y[o + j] = e;
    s += e;
  }
  let inv = 1.0 / s;
  for (var j = 0u; j < p.cols; j++) {
    y[o + j] *= inv;
  }
}

@compute @workgroup_size(WG)
fn wide(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = wg.x + wg.y * nwg.x;
  if (r >= p.rows) {
    return;
  }
  let o = r * p.cols;
  var m = -0x1.fffffep+127f; // the lowest float32
  for (var j = t; j < p.cols; j += WG) {
    m = max(m, x[o + j]);
  }
  m = workgroupMax(t, m);
  var s = 0.0;
  for (var j = t; j < p.cols; j += WG) {
    let e = exp(x[o + j] - m);
    y[o + j] = e;
    s += e;
  }
  let inv = 1.0 / workgroupSum(t, s);
  for (var j = t; j < p.cols; j += WG) {
    y[o + j] *= inv;
  }
}

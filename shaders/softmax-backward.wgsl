// Softmax backward over the last dim of [rows, cols], given the forward output y:
//   dx = y·(dy − inner),  inner = Σ_cols dy·y (per row).
// Split like shaders/softmax.wgsl: `rows` (a thread per row) and `wide` (a workgroup per row).

@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= p.rows) {
    return;
  }
  let o = r * p.cols;
  var inner = 0.0;
  for (var j = 0u; j < p.cols; j++) {
    inner += dy[o + j] * y[o + j];
  }
  for (var j = 0u; j < p.cols; j++) {
    dx[o + j] = y[o + j] * (dy[o + j] - inner);
  }
}

@compute @workgroup_size(WG)
fn wide(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = wg.x + wg.y * nwg.x;
  if (r >= p.rows) {
    return;
  }
  let o = r * p.cols;
  var partial = 0.0;
  for (var j = t; j < p.cols; j += WG) {
    partial += dy[o + j] * y[o + j];
  }
  let inner = workgroupSum(t, partial);
  for (var j = t; j < p.cols; j += WG) {
    dx[o + j] = y[o + j] * (dy[o + j] - inner);
  }
}

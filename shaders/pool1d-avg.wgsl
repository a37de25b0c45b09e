// Average pooling over the last axis, forward and backward (torch avg_pool1d, floor mode,
// count_include_pad = true). x [rows, L] -> y [rows, Lout], rows = N·C. Window j of a row covers positions
// j·stride − padding + [0, kernelSize); the padding counts as zeros and every window divides by kernelSize.
// Threads are numbered across grid1d's 2-D fold, and each does ITEMS_PER_THREAD items so that the row/column
// split (an integer division) is paid rarely.

@group(0) @binding(1) var<storage, read> input: array<f32>; // x forward, dy backward
@group(0) @binding(2) var<storage, read_write> output: array<f32>; // y forward, dx backward

// One thread per ITEMS_PER_THREAD consecutive outputs of the flattened y.
@compute @workgroup_size(WORKGROUP_SIZE)
fn avgPool1d(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o0 = threadIndex(gid, nwg) * ITEMS_PER_THREAD;
  if (o0 >= params.items) { return; }
  var row = o0 / params.Lout;
  var j = o0 - row * params.Lout;
  let count = min(ITEMS_PER_THREAD, params.items - o0);
  for (var q = 0u; q < count; q++) {
    let base = i32(row * params.L);
    let start = i32(j) * stride() - padding();
    var sum = 0.0;
    for (var k = 0; k < kernelSize(); k++) {
      let t = start + k;
      if (isInput(t)) { sum += input[base + t]; }
    }
    output[o0 + q] = sum / f32(kernelSize());
    j++;
    if (j == params.Lout) { j = 0u; row++; }
  }
}

// One thread per ITEMS_PER_THREAD consecutive segments of dx: segment s of a row is the `stride` positions
// s·stride − padding + [0, stride) (clipped to the row), so the segments tile the row and every position is
// written once by its owner — no atomics, deterministic. Windows s − windowsPerPosition + 1 … s can reach
// segment s; each position sums dy over those that contain it, in window order, and divides by kernelSize.
@compute @workgroup_size(WORKGROUP_SIZE)
fn avgPool1dBackward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let s0 = threadIndex(gid, nwg) * ITEMS_PER_THREAD;
  if (s0 >= params.items) { return; }
  var row = s0 / params.segments;
  var s = i32(s0 - row * params.segments);
  let count = min(ITEMS_PER_THREAD, params.items - s0);
  let Lout = i32(params.Lout);
  for (var q = 0u; q < count; q++) {
    let rowBase = i32(row * params.L);
    let dyBase = i32(row * params.Lout);
    let segmentStart = s * stride() - padding();
    if (windowsPerPosition() == 1) {
      // Non-overlapping windows: window s is the only one reaching segment s, and covers its first
      // kernelSize positions (none past the last window).
      var grad = 0.0;
      if (s < Lout) { grad = input[dyBase + s] / f32(kernelSize()); }
      for (var u = 0; u < stride(); u++) {
        let t = segmentStart + u;
        if (inRow(t)) { output[rowBase + t] = select(0.0, grad, u < kernelSize()); }
      }
    } else {
      for (var u = 0; u < stride(); u++) {
        let t = segmentStart + u;
        if (inRow(t)) {
          var sum = 0.0;
          for (var c = windowsPerPosition() - 1; c >= 0; c--) {
            let j = s - c;
            if (j >= 0 && j < Lout && t - (j * stride() - padding()) < kernelSize()) { sum += input[dyBase + j]; }
          }
          output[rowBase + t] = sum / f32(kernelSize());
        }
      }
    }
    s++;
    if (s == i32(params.segments)) { s = 0; row++; }
  }
}

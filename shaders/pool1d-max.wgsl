// Max pooling over the last axis, forward and backward (torch max_pool1d, floor mode).
// x [rows, L] -> y [rows, Lout], rows = N·C. Window j of a row covers positions
// j·stride − padding + [0, kernelSize), clipped to [0, L): the padding is −inf and never the maximum, as
// padding ≤ kernelSize/2 leaves every window at least one input. The backward pass sends each window's dy to
// its FIRST maximum (torch's CPU tie rule), recomputed from x instead of kept in an index buffer. A NaN is the
// maximum of its window, as in torch and the CPU reference (WGSL's max() may drop it): the first NaN is the
// output and receives the gradient.
// Threads are numbered across grid1d's 2-D fold, and each does ITEMS_PER_THREAD items so that the row/column
// split (an integer division) is paid rarely.

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> output: array<f32>; // y forward, dx backward
@group(0) @binding(3) var<storage, read> dy: array<f32>;

// Row position of the first maximum of window j (strict >, so a tie goes to the earliest position).
fn windowArgmax(rowBase: i32, j: i32) -> i32 {
  let start = j * stride() - padding();
  var best = 0.0;
  var arg = -1;
  for (var k = 0; k < kernelSize(); k++) {
    let t = start + k;
    if (isInput(t)) {
      let v = x[rowBase + t];
      if (isNan(v)) { return t; }
      if (arg < 0 || v > best) {
        best = v;
        arg = t;
      }
    }
  }
  return arg;
}

// One thread per ITEMS_PER_THREAD consecutive outputs of the flattened y.
@compute @workgroup_size(WORKGROUP_SIZE)
fn maxPool1d(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o0 = threadIndex(gid, nwg) * ITEMS_PER_THREAD;
  if (o0 >= params.items) { return; }
  var row = o0 / params.Lout;
  var j = o0 - row * params.Lout;
  let count = min(ITEMS_PER_THREAD, params.items - o0);
  for (var q = 0u; q < count; q++) {
    let base = i32(row * params.L);
    let start = i32(j) * stride() - padding();
    var best = x[base + max(start, 0)];
    for (var k = 0; k < kernelSize(); k++) {
      let t = start + k;
      if (isInput(t)) {
        let v = x[base + t];
        // Once best is a NaN it stays one; a NaN v replaces a number.
        best = select(max(best, v), best, isNan(best));
        best = select(best, v, isNan(v) && !isNan(best));
      }
    }
    output[o0 + q] = best;
    j++;
    if (j == params.Lout) { j = 0u; row++; }
  }
}

// One thread per ITEMS_PER_THREAD consecutive segments of dx: segment s of a row is the `stride` positions
// s·stride − padding + [0, stride) (clipped to the row), so the segments tile the row and a thread writes
// every position it owns itself — no atomics, deterministic. The windows that can reach segment s are
// s − windowsPerPosition + 1 … s; each one's first maximum is found once and, if it falls in the segment,
// receives that window's dy. A position that is the maximum of several overlapping windows gets their sum,
// added in window order.
@compute @workgroup_size(WORKGROUP_SIZE)
fn maxPool1dBackward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
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
      // Non-overlapping windows: window s is the only one reaching segment s (none past the last window).
      var arg = -1;
      var grad = 0.0;
      if (s < Lout) {
        arg = windowArgmax(rowBase, s);
        grad = dy[dyBase + s];
      }
      for (var u = 0; u < stride(); u++) {
        let t = segmentStart + u;
        if (inRow(t)) { output[rowBase + t] = select(0.0, grad, t == arg); }
      }
    } else {
      // Overlapping windows: clear the segment, then add each window's dy at its maximum, in window order.
      for (var u = 0; u < stride(); u++) {
        let t = segmentStart + u;
        if (inRow(t)) { output[rowBase + t] = 0.0; }
      }
      for (var c = windowsPerPosition() - 1; c >= 0; c--) {
        let j = s - c;
        if (j >= 0 && j < Lout) {
          let arg = windowArgmax(rowBase, j);
          if (arg >= segmentStart && arg < segmentStart + stride()) {
            output[rowBase + arg] += dy[dyBase + j];
          }
        }
      }
    }
    s++;
    if (s == i32(params.segments)) { s = 0; row++; }
  }
}

// Max and average pooling over the last axis, forward and backward (torch max_pool1d / avg_pool1d, floor mode;
// average with count_include_pad = true); MAX picks the kind. x [rows, L] -> y [rows, Lout], rows = N·C. Window j
// of a row covers positions j·stride − padding + [0, kernelSize), clipped to [0, L):
//  - max: the padding is −inf and never the maximum, as padding ≤ kernelSize/2 leaves every window at least one
//    input. The backward pass sends each window's dy to its FIRST maximum (torch's CPU tie rule), recomputed from
//    x instead of kept in an index buffer. A NaN is the maximum of its window, as in torch and the CPU reference
//    (WGSL's max() may drop it): the first NaN is the output and receives the gradient.
//  - average: the padding counts as zeros and every window divides by kernelSize.
// Threads are numbered across grid1d's 2-D fold, and each does ITEMS_PER_THREAD items (outputs forward, segments
// backward) so that the row/column split (an integer division) is paid rarely. The walks over the items are
// written once, in the two entry points; the kinds differ only in what a window gives and takes.

override MAX: bool = false;

struct Params {
  L: u32,
  Lout: u32,
  segments: u32, // backward: segments per row, ceil((L + padding)/stride)
  items: u32, // forward: rows·Lout outputs; backward: rows·segments segments
  kernelSize: i32,
  stride: i32,
  padding: i32,
  windowsPerPosition: i32, // ceil(kernelSize/stride): how many windows can contain one position
}

override WORKGROUP_SIZE: u32 = 64u;
override ITEMS_PER_THREAD: u32 = 2u;
// SPECIALIZED pipelines take the pooling parameters from these constants instead of the uniform, so the
// window loops unroll and the divisions are by constants (worth ~1.3× on lavapipe); kernels/pool1d.ts
// specialises the model's hot configuration only, to keep pipeline compilations few.
override SPECIALIZED: bool = false;
override KERNEL_SIZE: i32 = 1;
override STRIDE: i32 = 1;
override PADDING: i32 = 0;

@group(0) @binding(0) var<uniform> params: Params;

// Average backward needs no x: the host binds dy here too (read-only aliasing is allowed); it is never read.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> output: array<f32>; // y forward, dx backward
@group(0) @binding(3) var<storage, read> dy: array<f32>; // backward only

fn kernelSize() -> i32 { return select(params.kernelSize, KERNEL_SIZE, SPECIALIZED); }
fn stride() -> i32 { return select(params.stride, STRIDE, SPECIALIZED); }
fn padding() -> i32 { return select(params.padding, PADDING, SPECIALIZED); }
fn windowsPerPosition() -> i32 {
  return select(params.windowsPerPosition, (KERNEL_SIZE + STRIDE - 1) / STRIDE, SPECIALIZED);
}

fn threadIndex(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
}

fn inRow(t: i32) -> bool {
  return t >= 0 && t < i32(params.L);
}

// Whether position t of a window is an input rather than padding (without padding, floor mode keeps every
// window inside the row).
fn isInput(t: i32) -> bool {
  return padding() == 0 || inRow(t);
}

// Whether v is a NaN, from its bits (a comparison v != v may be folded away by a compiler assuming no NaN).
fn isNan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

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

fn windowMax(base: i32, start: i32) -> f32 {
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
  return best;
}

fn windowAverage(base: i32, start: i32) -> f32 {
  var sum = 0.0;
  for (var k = 0; k < kernelSize(); k++) {
    let t = start + k;
    if (isInput(t)) { sum += x[base + t]; }
  }
  return sum / f32(kernelSize());
}

// One thread per ITEMS_PER_THREAD consecutive outputs of the flattened y.
@compute @workgroup_size(WORKGROUP_SIZE)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o0 = threadIndex(gid, nwg) * ITEMS_PER_THREAD;
  if (o0 >= params.items) { return; }
  var row = o0 / params.Lout;
  var j = o0 - row * params.Lout;
  let count = min(ITEMS_PER_THREAD, params.items - o0);
  for (var q = 0u; q < count; q++) {
    let base = i32(row * params.L);
    let start = i32(j) * stride() - padding();
    if (MAX) {
      output[o0 + q] = windowMax(base, start);
    } else {
      output[o0 + q] = windowAverage(base, start);
    }
    j++;
    if (j == params.Lout) { j = 0u; row++; }
  }
}

// Max: the windows that can reach segment s are s − windowsPerPosition + 1 … s; each one's first maximum is found
// once and, if it falls in the segment, receives that window's dy. A position that is the maximum of several
// overlapping windows gets their sum, added in window order.
fn maxSegmentGradient(rowBase: i32, dyBase: i32, s: i32, segmentStart: i32) {
  let Lout = i32(params.Lout);
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
}

// Average: each position sums dy over the windows that contain it, in window order, and divides by kernelSize.
fn averageSegmentGradient(rowBase: i32, dyBase: i32, s: i32, segmentStart: i32) {
  let Lout = i32(params.Lout);
  if (windowsPerPosition() == 1) {
    // Non-overlapping windows: window s is the only one reaching segment s, and covers its first kernelSize
    // positions (none past the last window).
    var grad = 0.0;
    if (s < Lout) { grad = dy[dyBase + s] / f32(kernelSize()); }
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
          if (j >= 0 && j < Lout && t - (j * stride() - padding()) < kernelSize()) { sum += dy[dyBase + j]; }
        }
        output[rowBase + t] = sum / f32(kernelSize());
      }
    }
  }
}

// One thread per ITEMS_PER_THREAD consecutive segments of dx: segment s of a row is the `stride` positions
// s·stride − padding + [0, stride) (clipped to the row), so the segments tile the row and a thread writes every
// position it owns itself — no atomics, deterministic.
@compute @workgroup_size(WORKGROUP_SIZE)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let s0 = threadIndex(gid, nwg) * ITEMS_PER_THREAD;
  if (s0 >= params.items) { return; }
  var row = s0 / params.segments;
  var s = i32(s0 - row * params.segments);
  let count = min(ITEMS_PER_THREAD, params.items - s0);
  for (var q = 0u; q < count; q++) {
    let rowBase = i32(row * params.L);
    let dyBase = i32(row * params.Lout);
    let segmentStart = s * stride() - padding();
    if (MAX) {
      maxSegmentGradient(rowBase, dyBase, s, segmentStart);
    } else {
      averageSegmentGradient(rowBase, dyBase, s, segmentStart);
    }
    s++;
    if (s == i32(params.segments)) { s = 0; row++; }
  }
}

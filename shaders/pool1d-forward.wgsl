// Forward pooling over the last axis: x [rows, L] -> y [rows, Lout], rows = N·C. Window j of a row covers
// the padded positions j·stride − padding + [0, kernelSize), clipped to [0, L): max pads with −inf (the
// first maximum wins), average pads with zeros and divides by kernelSize (count_include_pad).
// Each thread computes OUTPUTS_PER_THREAD consecutive outputs of the flattened y, so the row/column split
// (an integer division) is paid once per thread; threads are laid out by grid1d's 2-D fold.

struct Params {
  rows: u32,
  L: u32,
  Lout: u32,
  kernelSize: u32,
  stride: u32,
  padding: u32,
  total: u32, // rows · Lout
}

override WORKGROUP_SIZE: u32 = 64u;
override OUTPUTS_PER_THREAD: u32 = 4u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

fn threadIndex(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
}

// The input range [first, end) of window j, clipped to the row (never empty for padding ≤ kernelSize/2).
fn windowRange(j: u32) -> vec2<u32> {
  let start = i32(j * params.stride) - i32(params.padding);
  let first = u32(max(start, 0));
  let end = u32(min(start + i32(params.kernelSize), i32(params.L)));
  return vec2<u32>(first, end);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn maxPool1d(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o0 = threadIndex(gid, nwg) * OUTPUTS_PER_THREAD;
  if (o0 >= params.total) { return; }
  var row = o0 / params.Lout;
  var j = o0 - row * params.Lout;
  let count = min(OUTPUTS_PER_THREAD, params.total - o0);
  for (var q = 0u; q < count; q++) {
    let range = windowRange(j);
    let base = row * params.L;
    var best = x[base + range.x];
    for (var t = range.x + 1u; t < range.y; t++) {
      best = max(best, x[base + t]);
    }
    y[o0 + q] = best;
    j++;
    if (j == params.Lout) { j = 0u; row++; }
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn avgPool1d(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o0 = threadIndex(gid, nwg) * OUTPUTS_PER_THREAD;
  if (o0 >= params.total) { return; }
  var row = o0 / params.Lout;
  var j = o0 - row * params.Lout;
  let count = min(OUTPUTS_PER_THREAD, params.total - o0);
  for (var q = 0u; q < count; q++) {
    let range = windowRange(j);
    let base = row * params.L;
    var sum = 0.0;
    for (var t = range.x; t < range.y; t++) {
      sum += x[base + t];
    }
    y[o0 + q] = sum / f32(params.kernelSize);
    j++;
    if (j == params.Lout) { j = 0u; row++; }
  }
}

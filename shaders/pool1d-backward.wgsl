// Backward pooling: dx [rows, L] from dy [rows, Lout], one thread per INPUT element (INPUTS_PER_THREAD
// consecutive ones of the flattened dx), each summing over the windows that contain it — no atomics, and the
// sum runs in window order, so results are deterministic. Input position t lies in windows
// j ∈ [ceil((t + padding − kernelSize + 1)/stride), floor((t + padding)/stride)] ∩ [0, Lout).
// Max pooling recomputes each window's first maximum from x (no index buffer; torch's CPU tie rule), so a
// position that is the maximum of several overlapping windows receives the sum of their gradients.
// Average pooling (count_include_pad) gives every position of a window dy/kernelSize.

struct Params {
  rows: u32,
  L: u32,
  Lout: u32,
  kernelSize: u32,
  stride: u32,
  padding: u32,
  total: u32, // rows · L
}

override WORKGROUP_SIZE: u32 = 64u;
override INPUTS_PER_THREAD: u32 = 4u;

@group(0) @binding(0) var<uniform> params: Params;

fn threadIndex(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
}

// The windows [first, last] that contain position t of a row (first > last when none: stride > kernelSize).
fn windowsContaining(t: u32) -> vec2<i32> {
  let s = i32(params.stride);
  let reach = i32(t + params.padding);
  let lowNumerator = reach - i32(params.kernelSize) + 1;
  let first = select(0, (lowNumerator + s - 1) / s, lowNumerator > 0);
  let last = min(reach / s, i32(params.Lout) - 1);
  return vec2<i32>(first, last);
}

@group(0) @binding(1) var<storage, read> dyAvg: array<f32>;
@group(0) @binding(2) var<storage, read_write> dxAvg: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn avgPool1dBackward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i0 = threadIndex(gid, nwg) * INPUTS_PER_THREAD;
  if (i0 >= params.total) { return; }
  var row = i0 / params.L;
  var t = i0 - row * params.L;
  let count = min(INPUTS_PER_THREAD, params.total - i0);
  for (var q = 0u; q < count; q++) {
    let windows = windowsContaining(t);
    let base = i32(row * params.Lout);
    var sum = 0.0;
    for (var j = windows.x; j <= windows.y; j++) {
      sum += dyAvg[base + j];
    }
    dxAvg[i0 + q] = sum / f32(params.kernelSize);
    t++;
    if (t == params.L) { t = 0u; row++; }
  }
}

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

// Row position of the first maximum of window j (strict >, so ties go to the earliest position).
fn windowArgmax(rowBase: u32, j: u32) -> u32 {
  let start = i32(j * params.stride) - i32(params.padding);
  let first = u32(max(start, 0));
  let end = u32(min(start + i32(params.kernelSize), i32(params.L)));
  var best = x[rowBase + first];
  var arg = first;
  for (var t = first + 1u; t < end; t++) {
    let v = x[rowBase + t];
    if (v > best) {
      best = v;
      arg = t;
    }
  }
  return arg;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn maxPool1dBackward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i0 = threadIndex(gid, nwg) * INPUTS_PER_THREAD;
  if (i0 >= params.total) { return; }
  var row = i0 / params.L;
  var t = i0 - row * params.L;
  let count = min(INPUTS_PER_THREAD, params.total - i0);
  for (var q = 0u; q < count; q++) {
    let windows = windowsContaining(t);
    let rowBase = row * params.L;
    let dyBase = row * params.Lout;
    var sum = 0.0;
    for (var j = windows.x; j <= windows.y; j++) {
      if (windowArgmax(rowBase, u32(j)) == t) {
        sum += dy[dyBase + u32(j)];
      }
    }
    dx[i0 + q] = sum;
    t++;
    if (t == params.L) { t = 0u; row++; }
  }
}

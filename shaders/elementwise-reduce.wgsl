// sumTo: sums x down to a broadcast shape. The caller collapses the problem (drops size-1 dims, merges
// neighbours that are both kept or both reduced) to at most 3 kept dims k0..k2 and 3 reduced dims r0..r2,
// innermost first, each with its element stride in x. Output o (row-major over the kept dims) is
//   out[o] = Σ_{e2 < r2, e1 < r1, e0 < r0} x[base(o) + e0·rs0 + e1·rs1 + e2·rs2].
//
// `sumPerThread`: one invocation per (output, chunk of the reduction), walking it serially: for short
// reductions, and when the kept dim is innermost (then neighbouring invocations read neighbouring addresses).
// `sumPartial`: one workgroup per (output, chunk of the reduction). Its invocations stride through the chunk
// WG elements apart (neighbours read neighbours along r0) adding into registers, then a tree in workgroup
// memory sums the WG partial sums. With chunks = 1 it writes the outputs; with more, it writes partials
// [outputs, chunks] that a second sumPartial reduces (the two-pass split for few outputs and long
// reductions, which also keeps float32 rounding small: short serial runs, then trees).
// `sumPartialVec4` is sumPartial on a vec4 view of x (the caller divides r0 and all strides by 4 when r0 is
// contiguous and a multiple of 4).
//
// Stepping a reduction index through its mixed-radix (r0, r1, r2) digits is an add with carry: the caller
// passes the step's digits step0..step2 (WG for sumPartial, 1 for sumPerThread), so the loops need no division.

override WG: u32 = 256;

struct Params {
  outputs: u32,
  chunks: u32,
  chunkLength: u32,
  length: u32,
  k0: u32, k1: u32, k2: u32,
  ks0: u32, ks1: u32, ks2: u32,
  r0: u32, r1: u32, r2: u32,
  rs0: u32, rs1: u32, rs2: u32,
  step0: u32, step1: u32, step2: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> x4: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> partial: array<f32, WG>;

// Offset in x of output o's first element.
fn outputBase(o: u32) -> u32 {
  let q0 = o / params.k0;
  let q1 = q0 / params.k1;
  return (o - q0 * params.k0) * params.ks0 + (q0 - q1 * params.k1) * params.ks1 + q1 * params.ks2;
}

// Digits (e0, e1, e2) of reduction index r.
fn digits(r: u32) -> vec3u {
  let q0 = r / params.r0;
  let q1 = q0 / params.r1;
  return vec3u(r - q0 * params.r0, q0 - q1 * params.r1, q1);
}

fn reducedOffset(e: vec3u) -> u32 {
  return e.x * params.rs0 + e.y * params.rs1 + e.z * params.rs2;
}

// e + step in the mixed radix (r0, r1, r2); each step digit is below its radix, so one carry suffices.
fn stepDigits(e: vec3u) -> vec3u {
  var d0 = e.x + params.step0;
  var d1 = e.y + params.step1;
  if (d0 >= params.r0) {
    d0 -= params.r0;
    d1 += 1u;
  }
  var d2 = e.z + params.step2;
  if (d1 >= params.r1) {
    d1 -= params.r1;
    d2 += 1u;
  }
  return vec3u(d0, d1, d2);
}

@compute @workgroup_size(WG)
fn sumPerThread(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let job = gid.x + gid.y * nwg.x * WG;
  if (job >= params.outputs * params.chunks) {
    return;
  }
  // Output fastest: the partials are [chunks, outputs].
  let chunk = job / params.outputs;
  let o = job - chunk * params.outputs;
  let start = chunk * params.chunkLength;
  let end = min(start + params.chunkLength, params.length);
  let base = outputBase(o);
  var sum = 0.0;
  var e = digits(start);
  for (var r = start; r < end; r++) {
    sum += x[base + reducedOffset(e)];
    e = stepDigits(e);
  }
  out[job] = sum;
}

// Tree sum of the workgroup's values; the result is in partial[0] for every invocation after the last barrier.
fn workgroupSum(lid: u32, value: f32) {
  partial[lid] = value;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    if (lid < half) {
      partial[lid] += partial[lid + half];
    }
    workgroupBarrier();
  }
}

@compute @workgroup_size(WG)
fn sumPartial(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let job = wid.x + wid.y * nwg.x;
  if (job >= params.outputs * params.chunks) {
    return;
  }
  let o = job / params.chunks;
  let start = (job - o * params.chunks) * params.chunkLength;
  let end = min(start + params.chunkLength, params.length);
  let base = outputBase(o);
  var sum = 0.0;
  var e = digits(start + lid.x);
  for (var r = start + lid.x; r < end; r += WG) {
    sum += x[base + reducedOffset(e)];
    e = stepDigits(e);
  }
  workgroupSum(lid.x, sum);
  if (lid.x == 0u) {
    out[job] = partial[0];
  }
}

@compute @workgroup_size(WG)
fn sumPartialVec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let job = wid.x + wid.y * nwg.x;
  if (job >= params.outputs * params.chunks) {
    return;
  }
  let o = job / params.chunks;
  let start = (job - o * params.chunks) * params.chunkLength;
  let end = min(start + params.chunkLength, params.length);
  let base = outputBase(o);
  var sum = vec4f(0.0);
  var e = digits(start + lid.x);
  for (var r = start + lid.x; r < end; r += WG) {
    sum += x4[base + reducedOffset(e)];
    e = stepDigits(e);
  }
  workgroupSum(lid.x, (sum.x + sum.y) + (sum.z + sum.w));
  if (lid.x == 0u) {
    out[job] = partial[0];
  }
}

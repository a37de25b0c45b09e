// Max pooling by 4 (kernelSize = stride = 4, no padding: the model's pooling) of rows whose length is a
// multiple of 4, when the outputs come in whole vec4s. Output o is then the maximum of the o-th vec4 of x,
// whatever the row, and a thread turns 4 vec4 loads into one vec4 store: 16-byte accesses instead of 4-byte
// ones. The backward likewise: a thread reads one vec4 of dy and 4 of x and writes 4 vec4s of dx, each window's
// gradient at its first maximum (or first NaN), zeros elsewhere. A CPU driver turns every per-lane load or store into a loop over the SIMD lanes, so the number of
// accesses, not the bytes, sets the speed there.

override WORKGROUP_SIZE: u32 = 64u;

struct Params {
  outputVecs: u32, // outputs / 4
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>; // dx in the backward
@group(0) @binding(3) var<storage, read> dy: array<vec4<f32>>;

// The maximum of 4 values, or the first NaN among them (torch propagates NaN; WGSL's max() may drop it). NaN is
// told by its bits: a comparison v != v may be folded away by a compiler that assumes no NaN.
fn max4(v: vec4<f32>) -> f32 {
  let nan = (bitcast<vec4<u32>>(v) & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u);
  var m = max(max(v.x, v.y), max(v.z, v.w));
  m = select(m, v.w, nan.w);
  m = select(m, v.z, nan.z);
  m = select(m, v.y, nan.y);
  return select(m, v.x, nan.x);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn maxPool1dBy4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
  if (q >= params.outputVecs) {
    return;
  }
  let i = 4u * q;
  y[q] = vec4<f32>(max4(x[i]), max4(x[i + 1u]), max4(x[i + 2u]), max4(x[i + 3u]));
}

/** g at the first maximum of v (the first NaN if there is one, as max4 picks it), zero elsewhere. */
fn toFirstMax(v: vec4<f32>, g: f32) -> vec4<f32> {
  let nan = (bitcast<vec4<u32>>(v) & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u);
  let m = max(max(v.x, v.y), max(v.z, v.w));
  let hit = select(v == vec4<f32>(m), nan, any(nan));
  // The first hit only: a later tie gets nothing.
  let first = hit & vec4<bool>(true, !hit.x, !(hit.x || hit.y), !(hit.x || hit.y || hit.z));
  return select(vec4<f32>(0.0), vec4<f32>(g), first);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn maxPool1dBackwardBy4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
  if (q >= params.outputVecs) {
    return;
  }
  let i = 4u * q;
  let g = dy[q];
  y[i] = toFirstMax(x[i], g.x);
  y[i + 1u] = toFirstMax(x[i + 1u], g.y);
  y[i + 2u] = toFirstMax(x[i + 2u], g.z);
  y[i + 3u] = toFirstMax(x[i + 3u], g.w);
}

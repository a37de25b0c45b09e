// Max pooling by 4 (kernelSize = stride = 4, no padding: the model's pooling) of rows whose length is a
// multiple of 4, when the outputs come in whole vec4s. Output o is then the maximum of the o-th vec4 of x,
// whatever the row, and a thread turns 4 vec4 loads into one vec4 store: 16-byte accesses instead of 4-byte
// ones. A CPU driver turns every per-lane load or store into a loop over the SIMD lanes, so the number of
// accesses, not the bytes, sets the speed there.

override WORKGROUP_SIZE: u32 = 64u;

struct Params {
  outputVecs: u32, // outputs / 4
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;

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

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

fn max4(v: vec4<f32>) -> f32 {
  return max(max(v.x, v.y), max(v.z, v.w));
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

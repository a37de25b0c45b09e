// The softmax family's shared declarations: its uniforms and the workgroup tree reductions, used by softmax.wgsl,
// softmax-cross-entropy.wgsl and softmax-cross-entropy-backward.wgsl (src/kernels/softmax.ts prepends this file to
// each: WGSL has no includes). Every tensor is [rows, cols], row-major.

struct Params {
  rows: u32,
  cols: u32,
  stepRow: u32, // flat walks (cross-entropy backward): WG / cols
  stepCol: u32, // WG % cols
}

override WG: u32 = 64; // a power of two: the tree reductions halve it

@group(0) @binding(0) var<uniform> p: Params;

var<workgroup> scratch: array<f32, WG>;

/** The sum of every thread's v, returned to all threads. */
fn workgroupSum(t: u32, v: f32) -> f32 {
  scratch[t] = v;
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (t < s) {
      scratch[t] += scratch[t + s];
    }
  }
  workgroupBarrier();
  let result = scratch[0];
  workgroupBarrier(); // before anyone overwrites scratch[0] again
  return result;
}

/** The maximum of every thread's v, returned to all threads. */
fn workgroupMax(t: u32, v: f32) -> f32 {
  scratch[t] = v;
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (t < s) {
      scratch[t] = max(scratch[t], scratch[t + s]);
    }
  }
  workgroupBarrier();
  let result = scratch[0];
  workgroupBarrier();
  return result;
}

// AdamW over the optimiser's flat vectors of parameters and moments (src/engine/adam.ts), each parameter's gradient
// read from its own buffer, so that no gradient is copied beside the parameters first: one dispatch updates up to
// PARTS parameters (`count` parts), part j being elements [offset, offset + length) of param, m and v, and element i
// of it taking gradient gradOf(j, i). For each element:
//   param −= lr·weightDecay·param,  m = β1·m + (1−β1)·g,  v = β2·v + (1−β2)·g²,  param −= lr·(m/c1) / (sqrt(v/c2) + eps),
// with the bias corrections c1 = 1 − β1^step, c2 = 1 − β2^step computed on the CPU (one step count a dispatch).
// Part j owns the workgroups from its `first` on (g = wg.x + wg.y·nwg.x, the grid1d fold): workgroup g covers its
// elements [(g − first)·WG·ITEMS, +WG·ITEMS), thread t taking element (g − first)·WG·ITEMS + t + k·WG for k < ITEMS.
//
// src/kernels/optim.ts (adamShader) writes before this text, for PARTS gradient bindings:
//   struct AdamParams { lr, beta1, beta2, eps, weightDecay, correction1, correction2: f32, count: u32,
//                       parts: array<vec4u, PARTS> }      part j: (offset, length, first, unused); count parts
//   @group(0) @binding(4 + j) var<storage, read> grad<j>: array<f32>     for j < PARTS
//   fn gradOf(part: u32, i: u32) -> f32                   element i of part j's gradient
// (generated because WGSL has no arrays of bindings: a part's buffer is chosen by a switch over them).

override WG: u32 = 64;
override ITEMS: u32 = 16;

@group(0) @binding(0) var<uniform> adam: AdamParams;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;

@compute @workgroup_size(WG)
fn adamStep(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let g = wg.x + wg.y * nwg.x;
  // The workgroup's part: the last whose workgroups start at or before g (part 0 starts at 0). The same for every
  // thread of the workgroup, so the switch in gradOf does not diverge.
  var j = 0u;
  for (var q = 1u; q < adam.count; q++) {
    if (adam.parts[q].z <= g) {
      j = q;
    }
  }
  let part = adam.parts[j];
  var i = (g - part.z) * WG * ITEMS + t;
  for (var k = 0u; k < ITEMS && i < part.y; k++) {
    let grad = gradOf(j, i);
    let at = part.x + i;
    let mi = adam.beta1 * m[at] + (1.0 - adam.beta1) * grad;
    let vi = adam.beta2 * v[at] + (1.0 - adam.beta2) * grad * grad;
    let decayed = param[at] - adam.lr * adam.weightDecay * param[at];
    param[at] = decayed - adam.lr * (mi / adam.correction1) / (sqrt(vi / adam.correction2) + adam.eps);
    m[at] = mi;
    v[at] = vi;
    i += WG;
  }
}

// Dropout, mask and output in one pass (src/kernels/optim.ts; AdamW, the other optimiser kernel, is adam.wgsl):
//   y[i] = x[i]·mask[i], mask[i] = 1/(1−p) where u_i >= p, else 0, with u_i = (hash(hash(i) ^ hash(seed ^ 0x9e3779b9))
//   >> 8) / 2^24 ∈ [0, 1) and hash = lowbias32: deterministic in (seed, i), and the same bit for bit as the CPU
//   reference (src/kernels/cpu/optim.ts). WG, ITEMS, firstIndex and hash: optim-common.wgsl.

struct DropoutParams {
  n: u32,
  seed: u32,
  p: f32,
  scale: f32, // 1/(1−p), rounded to float32 on the CPU
}

@group(0) @binding(0) var<uniform> dropout: DropoutParams;
@group(0) @binding(1) var<storage, read> dropoutX: array<f32>;
@group(0) @binding(2) var<storage, read_write> mask: array<f32>;
@group(0) @binding(3) var<storage, read_write> dropoutY: array<f32>;

@compute @workgroup_size(WG)
fn dropoutForward(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let key = hash(dropout.seed ^ 0x9e3779b9u);
  var i = firstIndex(t, wg, nwg);
  for (var k = 0u; k < ITEMS && i < dropout.n; k++) {
    let u = f32(hash(hash(i) ^ key) >> 8u) * (1.0 / 16777216.0);
    let keep = select(0.0, dropout.scale, u >= dropout.p);
    mask[i] = keep;
    dropoutY[i] = dropoutX[i] * keep;
    i += WG;
  }
}

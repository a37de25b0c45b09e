// The optimiser step and the dropout mask: flat elementwise kernels. Workgroup g (g = wg.x + wg.y·nwg.x, the grid1d
// fold) covers elements [g·WG·ITEMS, +WG·ITEMS); thread t takes i = g·WG·ITEMS + t + k·WG for k < ITEMS.
//   adamStep:    in place on param, m, v over elements [begin, end) (the fused optimiser runs it once over flat
//                views of all parameters; see src/engine/adam.ts): param −= lr·weightDecay·param, then
//                m = β1·m + (1−β1)·g,  v = β2·v + (1−β2)·g²,  param −= lr·(m/c1) / (sqrt(v/c2) + eps),
//                with the bias corrections c1 = 1 − β1^step, c2 = 1 − β2^step computed on the CPU.
//   dropout:     y[i] = x[i]·mask[i], mask[i] = 1/(1−p) where u_i >= p, else 0 (mask and output in one pass), with u_i = (hash(hash(i) ^ hash(seed ^ 0x9e3779b9)) >> 8)
//                / 2^24 ∈ [0, 1) and hash = lowbias32: deterministic in (seed, i), and the same bit for bit as
//                the CPU reference (src/kernels/cpu/optim.ts).

struct AdamParams {
  begin: u32,
  end: u32,
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  weightDecay: f32,
  correction1: f32,
  correction2: f32,
}

struct DropoutParams {
  n: u32,
  seed: u32,
  p: f32,
  scale: f32, // 1/(1−p), rounded to float32 on the CPU
}

override WG: u32 = 64;
override ITEMS: u32 = 16;

// Bindings of `adamStep`.
@group(0) @binding(0) var<uniform> adam: AdamParams;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;

// Bindings of `dropout` (entry points that never run together may share binding numbers).
@group(0) @binding(0) var<uniform> dropout: DropoutParams;
@group(0) @binding(1) var<storage, read> dropoutX: array<f32>;
@group(0) @binding(2) var<storage, read_write> mask: array<f32>;
@group(0) @binding(3) var<storage, read_write> dropoutY: array<f32>;

fn firstIndex(t: u32, wg: vec3u, nwg: vec3u) -> u32 {
  return (wg.x + wg.y * nwg.x) * WG * ITEMS + t;
}

@compute @workgroup_size(WG)
fn adamStep(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  var i = adam.begin + firstIndex(t, wg, nwg);
  for (var k = 0u; k < ITEMS && i < adam.end; k++) {
    let g = grad[i];
    let mi = adam.beta1 * m[i] + (1.0 - adam.beta1) * g;
    let vi = adam.beta2 * v[i] + (1.0 - adam.beta2) * g * g;
    let decayed = param[i] - adam.lr * adam.weightDecay * param[i];
    param[i] = decayed - adam.lr * (mi / adam.correction1) / (sqrt(vi / adam.correction2) + adam.eps);
    m[i] = mi;
    v[i] = vi;
    i += WG;
  }
}

/** lowbias32 (Chris Wellons): a well-mixed bijection of u32. */
fn hash(x0: u32) -> u32 {
  var x = x0;
  x ^= x >> 16u;
  x *= 0x7feb352du;
  x ^= x >> 15u;
  x *= 0x846ca68bu;
  x ^= x >> 16u;
  return x;
}

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

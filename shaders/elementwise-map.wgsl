// Same-shape elementwise maps over n float32 values: unary ops and their derivatives, binary ops of equal
// shapes, affine, in-place accumulation and fill.
//
// One vec4 per invocation (count = ceil(n/4)): every buffer holds whole vec4s (pooled buffers are padded to
// 32 bytes), so the last vec4 may spill into the slack past n, which nothing reads. On lavapipe a vec4 per
// invocation moves about twice the bytes per second of 4 floats per invocation and four times those of one.
//
// Invocations are numbered gid.x + gid.y · nwg.x · WG (the runtime's grid1d folds big grids into 2-D).
// OP (elementwise-common.wgsl, prepended) selects the operation.

override WG: u32 = 256;

const GELU_K: f32 = 0.7978845608028654; // √(2/π)
const GELU_C: f32 = 0.044715;
const LEAKY_SLOPE: f32 = 0.01;

struct Params {
  // vec4s
  count: u32,
  alpha: f32,
  beta: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4f>;
@group(0) @binding(2) var<storage, read> b: array<vec4f>;
@group(0) @binding(3) var<storage, read> c: array<vec4f>;
// Outputs, at the binding after each entry point's inputs.
@group(0) @binding(1) var<storage, read_write> out1: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> out2: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> out3: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> out4: array<vec4f>;

fn index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// tanh that saturates cleanly: some drivers compute tanh through exp and return NaN for large |x|.
fn safeTanh(x: vec4f) -> vec4f {
  return select(tanh(x), sign(x), abs(x) > vec4f(10.0));
}

fn unaryOp(x: vec4f) -> vec4f {
  switch OP {
    case 0u: { return select(x, vec4f(0.0), x < vec4f(0.0)); } // as torch: NaN stays NaN (max may drop it)
    case 1u: { return 1.0 / (1.0 + exp(-x)); }
    case 2u: { return safeTanh(x); }
    case 3u: { return exp(x); }
    case 4u: { return log(x); }
    case 5u: { return -x; }
    case 6u: { return abs(x); }
    case 7u: { return sqrt(x); }
    case 8u: { return x * x; }
    case 9u: { return 0.5 * x * (1.0 + safeTanh(GELU_K * (x + GELU_C * x * x * x))); }
    case 10u: { return select(LEAKY_SLOPE * x, x, x > vec4f(0.0)); }
    default: { return x / (1.0 + exp(-x)); } // silu (x / inf = -0 for very negative x)
  }
}

// dx = dy · op'(x), from y = op(x) where that is cheaper; torch's values at the kinks (relu'(0) = 0, relu'(NaN) = 1,
// |·|'(0) = 0, leakyRelu'(0) = slope).
fn unaryGrad(x: vec4f, y: vec4f, dy: vec4f) -> vec4f {
  switch OP {
    case 0u: { return select(dy, vec4f(0.0), x <= vec4f(0.0)); } // torch passes dy at NaN
    case 1u: { return dy * y * (1.0 - y); }
    case 2u: { return dy * (1.0 - y * y); }
    case 3u: { return dy * y; }
    case 4u: { return dy / x; }
    case 5u: { return -dy; }
    case 6u: { return dy * sign(x); }
    case 7u: { return dy * 0.5 / y; }
    case 8u: { return dy * 2.0 * x; }
    case 9u: {
      let t = safeTanh(GELU_K * (x + GELU_C * x * x * x));
      return dy * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * GELU_K * (1.0 + 3.0 * GELU_C * x * x));
    }
    case 10u: { return select(LEAKY_SLOPE * dy, dy, x > vec4f(0.0)); }
    default: { // silu: σ(x)·(1 + x·(1 − σ(x)))
      let s = 1.0 / (1.0 + exp(-x));
      return dy * s * (1.0 + x * (1.0 - s));
    }
  }
}

// y = op(x): a → out2.
@compute @workgroup_size(WG)
fn unary(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i < params.count) {
    out2[i] = unaryOp(a[i]);
  }
}

// dx = dy · op'(x): x = a, y = b, dy = c → out4. Every op reads all three (the bindings must be used).
@compute @workgroup_size(WG)
fn unaryBackward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i < params.count) {
    out4[i] = unaryGrad(a[i], b[i], c[i]);
  }
}

// out = a ∘ b, same shapes → out3.
@compute @workgroup_size(WG)
fn binary(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i < params.count) {
    out3[i] = binaryOp(a[i], b[i]);
  }
}

// out = alpha·a + beta → out2.
@compute @workgroup_size(WG)
fn affine(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i < params.count) {
    out2[i] = fma(vec4f(params.alpha), a[i], vec4f(params.beta));
  }
}

// acc (out1, read_write) = alpha·acc + beta·x (b), in place (alpha = beta = 1: a gradient sum, exact in float32).
@compute @workgroup_size(WG)
fn accumulate(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i < params.count) {
    out1[i] = params.alpha * out1[i] + params.beta * b[i];
  }
}

// out1 = alpha everywhere.
@compute @workgroup_size(WG)
fn fill(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i < params.count) {
    out1[i] = vec4f(params.alpha);
  }
}

// out1 = alpha·out1 in place: accumulate(acc, acc) (a buffer cannot be bound twice when one is writable).
@compute @workgroup_size(WG)
fn scaleInPlace(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i < params.count) {
    out1[i] = params.alpha * out1[i];
  }
}

// The second pass of a GEMM whose reduction was split (gemm-aligned.wgsl with SPLIT_K): C = Σ_z partials[z],
// the partials added in a fixed order (deterministic, no float atomics), then the bias and the activation, as
// the unsplit store does them. gemm-params.wgsl is prepended: splits = K / chunk; N is a multiple of 4.
// One invocation a vec4 of C; the grid is folded into (x, y) past 65535 workgroups.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> partials: array<vec4f>;
// Without a bias the host binds the partials here again; never read then.
@group(0) @binding(2) var<storage, read> bias: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> c: array<vec4f>;

const WG = 256u;

@compute @workgroup_size(WG)
fn sum_splits(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let count = p.M * p.N / 4u;
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= count) {
    return;
  }
  var x = partials[i];
  for (var z = 1u; z < p.K / p.chunk; z++) {
    x += partials[z * count + i];
  }
  if (p.hasBias != 0u) {
    x += bias[i % (p.N / 4u)];
  }
  if (p.relu != 0u) {
    x = select(x, vec4f(0.0), x < vec4f(0.0)); // not max(): a NaN stays NaN, as in torch
  }
  c[i] = x;
}

// Strided elementwise kernels: binary ops with NumPy broadcasting, broadcastTo, and the block copy that
// serves concat and slice.
//
// Broadcasting: the caller collapses the shapes (drops size-1 output dims, merges neighbours that broadcast
// alike) to at most 6 dims, passed innermost first as d0..d5 with each operand's element strides (0 along a
// broadcast dim). An output index is split into coordinates by successive division; RANK is an override
// constant, so the unused dims compile away. The `4` entry points make 4 consecutive outputs per invocation
// (the caller uses them when d0 is a multiple of 4, so the 4 share their outer coordinates): one division
// chain for 4 outputs, loads at the operand's inner stride (1, or 0 when broadcast along d0) and a vec4 store.
//
// Invocations are numbered gid.x + gid.y · nwg.x · WG (the runtime's grid1d folds big grids into 2-D).

override WG: u32 = 256;
override RANK: u32 = 1;
// 0 add, 1 sub, 2 mul, 3 div.
override OP: u32 = 0;

struct Params {
  // Outputs (scalar entry points) or groups of 4 outputs (the `4` ones).
  count: u32,
  d0: u32, d1: u32, d2: u32, d3: u32, d4: u32, d5: u32,
  sa0: u32, sa1: u32, sa2: u32, sa3: u32, sa4: u32, sa5: u32,
  sb0: u32, sb1: u32, sb2: u32, sb3: u32, sb4: u32, sb5: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
// binary writes binding 3, broadcastTo binding 2.
@group(0) @binding(3) var<storage, read_write> out3: array<f32>;
@group(0) @binding(3) var<storage, read_write> out3v: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> out2: array<f32>;
@group(0) @binding(2) var<storage, read_write> out2v: array<vec4f>;

fn index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// Offsets of output element i in a and b.
fn offsets(i: u32) -> vec2u {
  let dims = array<u32, 6>(params.d0, params.d1, params.d2, params.d3, params.d4, params.d5);
  let sa = array<u32, 6>(params.sa0, params.sa1, params.sa2, params.sa3, params.sa4, params.sa5);
  let sb = array<u32, 6>(params.sb0, params.sb1, params.sb2, params.sb3, params.sb4, params.sb5);
  var rest = i;
  var offset = vec2u(0u);
  for (var k = 0u; k < RANK - 1u; k++) {
    let q = rest / dims[k];
    let coord = rest - q * dims[k];
    offset += coord * vec2u(sa[k], sb[k]);
    rest = q;
  }
  return offset + rest * vec2u(sa[RANK - 1u], sb[RANK - 1u]);
}

fn binaryOp(u: vec4f, v: vec4f) -> vec4f {
  switch OP {
    case 0u: { return u + v; }
    case 1u: { return u - v; }
    case 2u: { return u * v; }
    default: { return u / v; }
  }
}

// Four consecutive values of x from offset at stride (0 or 1).
fn load4a(offset: u32, stride: u32) -> vec4f {
  return vec4f(a[offset], a[offset + stride], a[offset + 2u * stride], a[offset + 3u * stride]);
}

fn load4b(offset: u32, stride: u32) -> vec4f {
  return vec4f(b[offset], b[offset + stride], b[offset + 2u * stride], b[offset + 3u * stride]);
}

// out = a ∘ b with broadcasting → out3.
@compute @workgroup_size(WG)
fn binaryStrided(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i < params.count) {
    let o = offsets(i);
    out3[i] = binaryOp(vec4f(a[o.x]), vec4f(b[o.y])).x;
  }
}

@compute @workgroup_size(WG)
fn binaryStrided4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i < params.count) {
    let o = offsets(4u * i);
    out3v[i] = binaryOp(load4a(o.x, params.sa0), load4b(o.y, params.sb0));
  }
}

// out = a repeated along its broadcast dims → out2 (the b strides are unused).
@compute @workgroup_size(WG)
fn broadcastStrided(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i < params.count) {
    out2[i] = a[offsets(i).x];
  }
}

@compute @workgroup_size(WG)
fn broadcastStrided4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i < params.count) {
    out2v[i] = load4a(offsets(4u * i).x, params.sa0);
  }
}

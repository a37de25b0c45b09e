// Strided elementwise kernels: binary ops with NumPy broadcasting, and broadcastTo.
//
// The caller collapses the shapes (drops size-1 output dims, merges neighbours that broadcast alike) to at
// most 6 dims, passed innermost first as d0..d5 with each operand's element strides sa/sb (0 along a broadcast
// dim). RANK is an override constant, so the unused dims compile away.
//
// The output is `rows` rows of d0. A workgroup is WGX columns × WGY rows (WGX·WGY = 256; the caller picks WGX
// from d0, so long rows get whole workgroups and short rows share one without idling most lanes): lanes along
// x walk consecutive outputs, so no invocation divides to find its column. The row's operand offsets come from
// one division chain over the outer dims, the same for the whole workgroup when WGY = 1. An invocation then
// adds its column at the operand's inner stride (1, or 0 when broadcast along d0).
// The `Vec4` entry points do the same on vec4s when d0 is a multiple of 4 (d0 then counts vec4s; strides stay
// in elements): an operand spanning d0 is read as vec4s, a broadcast one as a single float splat, read through
// the vec4 view at component offset % 4 (every buffer must hold whole vec4s, as pooled buffers do).
//
// Workgroups are numbered wid.x + wid.y · nwg.x (grid1d's 2-D fold): blocksPerRow column blocks per row group.

override WGX: u32 = 256;
override WGY: u32 = 1;
override RANK: u32 = 1;
// 0 add, 1 sub, 2 mul, 3 div.
override OP: u32 = 0;

struct Params {
  rows: u32,
  blocksPerRow: u32,
  d0: u32, d1: u32, d2: u32, d3: u32, d4: u32, d5: u32,
  sa0: u32, sa1: u32, sa2: u32, sa3: u32, sa4: u32, sa5: u32,
  sb0: u32, sb1: u32, sb2: u32, sb3: u32, sb4: u32, sb5: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> a4: array<vec4f>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> b4: array<vec4f>;
// binary writes binding 3, broadcastTo binding 2.
@group(0) @binding(3) var<storage, read_write> out3: array<f32>;
@group(0) @binding(3) var<storage, read_write> out3v: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> out2: array<f32>;
@group(0) @binding(2) var<storage, read_write> out2v: array<vec4f>;

fn binaryOp(u: vec4f, v: vec4f) -> vec4f {
  switch OP {
    case 0u: { return u + v; }
    case 1u: { return u - v; }
    case 2u: { return u * v; }
    default: { return u / v; }
  }
}

// Offsets in a and b of the element with linear index `index` over dims first..RANK-1 (row-major); with
// first = 1 (a row of the Rows kernels) and RANK = 1 that is the single row, at offset 0.
fn offsetsFrom(first: u32, index: u32) -> vec2u {
  let dims = array<u32, 6>(params.d0, params.d1, params.d2, params.d3, params.d4, params.d5);
  let sa = array<u32, 6>(params.sa0, params.sa1, params.sa2, params.sa3, params.sa4, params.sa5);
  let sb = array<u32, 6>(params.sb0, params.sb1, params.sb2, params.sb3, params.sb4, params.sb5);
  var rest = index;
  var offset = vec2u(0u);
  for (var k = first; k < RANK - 1u; k++) {
    let q = rest / dims[k];
    offset += (rest - q * dims[k]) * vec2u(sa[k], sb[k]);
    rest = q;
  }
  return offset + rest * vec2u(sa[RANK - 1u], sb[RANK - 1u]);
}

// This invocation's output row and column, and whether it is inside the output.
struct Position {
  row: u32,
  column: u32,
  valid: bool,
}

fn position(wid: vec3u, nwg: vec3u, lid: vec3u) -> Position {
  let w = wid.x + wid.y * nwg.x;
  let rowGroup = w / params.blocksPerRow;
  let row = rowGroup * WGY + lid.y;
  let column = (w - rowGroup * params.blocksPerRow) * WGX + lid.x;
  return Position(row, column, row < params.rows && column < params.d0);
}

// Four values of an operand from vec4 offset base (inner stride 1), or the float at element offset base
// splat (inner stride 0).
fn loadA4(base: u32, column: u32) -> vec4f {
  if (params.sa0 == 0u) {
    return vec4f(a4[base / 4u][base % 4u]);
  }
  return a4[base / 4u + column];
}

fn loadB4(base: u32, column: u32) -> vec4f {
  if (params.sb0 == 0u) {
    return vec4f(b4[base / 4u][base % 4u]);
  }
  return b4[base / 4u + column];
}

// ---------------------------------------------------------------------------------------- out = a ∘ b → out3

@compute @workgroup_size(WGX, WGY)
fn binaryRows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let p = position(wid, nwg, lid);
  if (p.valid) {
    let base = offsetsFrom(1u, p.row);
    let u = a[base.x + p.column * params.sa0];
    let v = b[base.y + p.column * params.sb0];
    out3[p.row * params.d0 + p.column] = binaryOp(vec4f(u), vec4f(v)).x;
  }
}

@compute @workgroup_size(WGX, WGY)
fn binaryRowsVec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let p = position(wid, nwg, lid);
  if (p.valid) {
    // Row offsets in elements (an operand spanning d0 has outer strides that are multiples of d0, hence of 4).
    let base = offsetsFrom(1u, p.row);
    out3v[p.row * params.d0 + p.column] = binaryOp(loadA4(base.x, p.column), loadB4(base.y, p.column));
  }
}

// ---------------------------------------------------------------------------------------- out = a repeated → out2

@compute @workgroup_size(WGX, WGY)
fn broadcastRows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let p = position(wid, nwg, lid);
  if (p.valid) {
    let base = offsetsFrom(1u, p.row).x;
    out2[p.row * params.d0 + p.column] = a[base + p.column * params.sa0];
  }
}

@compute @workgroup_size(WGX, WGY)
fn broadcastRowsVec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let p = position(wid, nwg, lid);
  if (p.valid) {
    let base = offsetsFrom(1u, p.row).x;
    out2v[p.row * params.d0 + p.column] = loadA4(base, p.column);
  }
}


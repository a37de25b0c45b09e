// Broadcasting kernels: binary ops with NumPy broadcasting (OP and binaryOp: elementwise-common.wgsl,
// prepended), and broadcastTo.
//
// The caller collapses the shapes (drops size-1 output dims, merges neighbours that broadcast alike) to at
// most 6 dims, passed innermost first as d0..d5 with each operand's element strides sa/sb (0 along a broadcast
// dim). RANK is an override constant, so the unused dims compile away. Outputs are written as vec4s (every
// buffer holds whole vec4s, as pooled buffers do; a last partial vec4 spills into the output's slack).
//
// `*Rows`, when d0 is a multiple of 4: the output is rows of d0/4 vec4s. A workgroup is WGX columns × WGY
// rows (WGX·WGY = 256; the caller picks WGX from d0, so long rows get whole workgroups and short rows share
// one), so no invocation divides to find its column. The row's operand offsets come from one division chain
// over the outer dims, the same for the whole workgroup when WGY = 1. An operand spanning d0 is then read as
// vec4s, a broadcast one (inner stride 0) as one float splat, read through the vec4 view at component
// offset % 4.
// `*Flat`, for any d0: invocation i makes outputs 4i .. 4i+3, finds the first one's coordinates by division,
// and reads the operands at their inner stride when the four share a row (else element by element).
//
// Workgroups are numbered wid.x + wid.y · nwg.x, invocations gid.x + gid.y · nwg.x · WG (grid1d's 2-D fold).

override WGX: u32 = 256;
override WGY: u32 = 1;
override RANK: u32 = 1;

struct Params {
  // Rows: rows of d0 and column blocks per row (d0 counted in vec4s). Flat: output vec4s and elements.
  count: u32,
  blocksPerRow: u32,
  length: u32,
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
@group(0) @binding(3) var<storage, read_write> out3: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> out2: array<vec4f>;

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

// ---------------------------------------------------------------------------------------- Rows

// This invocation's output row and vec4 column, and whether it is inside the output.
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
  return Position(row, column, row < params.count && column < params.d0);
}

// The vec4 at vec4 column `column` of an operand row starting at element `base` (a multiple of 4 when the
// operand spans d0: its outer strides are multiples of d0), or the float at `base` splat (inner stride 0).
fn rowA(base: u32, column: u32) -> vec4f {
  if (params.sa0 == 0u) {
    return vec4f(a4[base / 4u][base % 4u]);
  }
  return a4[base / 4u + column];
}

fn rowB(base: u32, column: u32) -> vec4f {
  if (params.sb0 == 0u) {
    return vec4f(b4[base / 4u][base % 4u]);
  }
  return b4[base / 4u + column];
}

@compute @workgroup_size(WGX, WGY)
fn binaryRows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let p = position(wid, nwg, lid);
  if (p.valid) {
    let base = offsetsFrom(1u, p.row);
    out3[p.row * params.d0 + p.column] = binaryOp(rowA(base.x, p.column), rowB(base.y, p.column));
  }
}

@compute @workgroup_size(WGX, WGY)
fn broadcastRows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let p = position(wid, nwg, lid);
  if (p.valid) {
    out2[p.row * params.d0 + p.column] = rowA(offsetsFrom(1u, p.row).x, p.column);
  }
}

// ---------------------------------------------------------------------------------------- Flat

// Offsets in a and b of outputs 4i .. 4i+3 (the last vec4 repeats the last element past the end).
fn flatOffsets(i: u32) -> array<vec2u, 4> {
  let first = 4u * i;
  let o = offsetsFrom(0u, first);
  var offsets: array<vec2u, 4>;
  if (first % params.d0 + 3u < params.d0) {
    let stride = vec2u(params.sa0, params.sb0);
    for (var k = 0u; k < 4u; k++) {
      offsets[k] = o + k * stride;
    }
  } else {
    offsets[0] = o;
    for (var k = 1u; k < 4u; k++) {
      offsets[k] = offsetsFrom(0u, min(first + k, params.length - 1u));
    }
  }
  return offsets;
}

fn flatA(o: array<vec2u, 4>) -> vec4f {
  return vec4f(a[o[0].x], a[o[1].x], a[o[2].x], a[o[3].x]);
}

fn flatB(o: array<vec2u, 4>) -> vec4f {
  return vec4f(b[o[0].y], b[o[1].y], b[o[2].y], b[o[3].y]);
}

@compute @workgroup_size(WGX)
fn binaryFlat(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WGX;
  if (i < params.count) {
    let o = flatOffsets(i);
    out3[i] = binaryOp(flatA(o), flatB(o));
  }
}

@compute @workgroup_size(WGX)
fn broadcastFlat(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WGX;
  if (i < params.count) {
    out2[i] = flatA(flatOffsets(i));
  }
}

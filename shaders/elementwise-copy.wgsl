// Block copy between row-major views, for concat and slice (a range of columns out of the input):
//   dst[r·dstStride + dstOffset + c] = src[r·srcStride + srcOffset + c]   for r < rows, c < cols,
// and `concatPair`, two inputs side by side in one dispatch (concat takes its inputs two at a time: the model's
// concatenations have two):
//   dst[r·dstStride + dstOffset + c] = c < cols0 ? src0[r·cols0 + c] : src1[r·cols1 + c − cols0].
// A tensor [outer, ..., axis, ..., inner] is a matrix [outer, shape[axis]·inner]; concat and slice along axis
// move column blocks of it.
//
// A workgroup is WGX columns × WGY rows (WGX·WGY = 256, WGX picked from the row length as in
// elementwise-broadcast.wgsl), so no invocation divides to find its place. `copyRowsVec4` counts everything
// in vec4s (the caller uses it when cols, strides and offsets are all multiples of 4).
// Workgroups are numbered wid.x + wid.y · nwg.x (grid1d's 2-D fold): blocksPerRow column blocks per row group.

override WGX: u32 = 256;
override WGY: u32 = 1;

struct Params {
  rows: u32,
  cols: u32,
  srcStride: u32,
  srcOffset: u32,
  dstStride: u32,
  dstOffset: u32,
  blocksPerRow: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> src4: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst4: array<vec4f>;

// Bindings of `concatPair` besides src (its src0) and dst.
struct PairParams {
  rows: u32,
  cols0: u32,
  cols1: u32,
  dstStride: u32,
  dstOffset: u32,
  blocksPerRow: u32,
}
@group(0) @binding(0) var<uniform> pair: PairParams;
@group(0) @binding(3) var<storage, read> src1: array<f32>;

// (row, column) of this invocation, the grid having blocksPerRow column blocks per row group.
fn position(wid: vec3u, nwg: vec3u, lid: vec3u, blocksPerRow: u32) -> vec2u {
  let w = wid.x + wid.y * nwg.x;
  let rowGroup = w / blocksPerRow;
  return vec2u(rowGroup * WGY + lid.y, (w - rowGroup * blocksPerRow) * WGX + lid.x);
}

@compute @workgroup_size(WGX, WGY)
fn copyRows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let p = position(wid, nwg, lid, params.blocksPerRow);
  if (p.x < params.rows && p.y < params.cols) {
    dst[p.x * params.dstStride + params.dstOffset + p.y] = src[p.x * params.srcStride + params.srcOffset + p.y];
  }
}

@compute @workgroup_size(WGX, WGY)
fn copyRowsVec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let p = position(wid, nwg, lid, params.blocksPerRow);
  if (p.x < params.rows && p.y < params.cols) {
    dst4[p.x * params.dstStride + params.dstOffset + p.y] = src4[p.x * params.srcStride + params.srcOffset + p.y];
  }
}

@compute @workgroup_size(WGX, WGY)
fn concatPair(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let at = position(wid, nwg, lid, pair.blocksPerRow);
  let r = at.x;
  let c = at.y;
  if (r >= pair.rows || c >= pair.cols0 + pair.cols1) {
    return;
  }
  var v: f32;
  if (c < pair.cols0) {
    v = src[r * pair.cols0 + c];
  } else {
    v = src1[r * pair.cols1 + c - pair.cols0];
  }
  dst[r * pair.dstStride + pair.dstOffset + c] = v;
}

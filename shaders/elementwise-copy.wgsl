// Block copy between row-major views, for concat (one dispatch per input, into its columns of the output)
// and slice (a range of columns out of the input):
//   dst[r·dstStride + dstOffset + c] = src[r·srcStride + srcOffset + c]   for r < rows, c < cols.
// A tensor [outer, ..., axis, ..., inner] is a matrix [outer, shape[axis]·inner]; concat and slice along axis
// move column blocks of it.
//
// `copyBlockVec4` counts everything in vec4s (the caller uses it when cols, strides and offsets are all
// multiples of 4). Invocations are numbered gid.x + gid.y · nwg.x · WG (grid1d's 2-D fold).

override WG: u32 = 256;

struct Params {
  rows: u32,
  cols: u32,
  srcStride: u32,
  srcOffset: u32,
  dstStride: u32,
  dstOffset: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> src4: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst4: array<vec4f>;

// (row, column) of invocation i, or rows when past the end.
fn position(gid: vec3u, nwg: vec3u) -> vec2u {
  let i = gid.x + gid.y * nwg.x * WG;
  let r = i / params.cols;
  return vec2u(r, i - r * params.cols);
}

@compute @workgroup_size(WG)
fn copyBlock(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let p = position(gid, nwg);
  if (p.x < params.rows) {
    dst[p.x * params.dstStride + params.dstOffset + p.y] = src[p.x * params.srcStride + params.srcOffset + p.y];
  }
}

@compute @workgroup_size(WG)
fn copyBlockVec4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let p = position(gid, nwg);
  if (p.x < params.rows) {
    dst4[p.x * params.dstStride + params.dstOffset + p.y] = src4[p.x * params.srcStride + params.srcOffset + p.y];
  }
}

// The GEMM family's uniforms and the tile each workgroup takes, shared by gemm-common.wgsl (the scalar bindings)
// and gemm-aligned.wgsl (the vec4 ones): src/kernels/gemm.ts prepends this file to each (WGSL has no includes),
// so the host writes one layout and folds one grid.

struct Params {
  M: u32,
  N: u32,
  K: u32,
  // Booleans, 0 or 1.
  transA: u32,
  transB: u32,
  hasBias: u32,
  relu: u32,
  // Of a split reduction (gemm-aligned.wgsl with SPLIT_K): the k range each workgroup z sums; else K.
  chunk: u32,
}

/** The workgroup's tile of C as (row tile, column tile), for tiles `tileN` columns wide. The host's grid
 * (tileGrid in src/gpu/runtime.ts) numbers the tiles row by row, folded into (x, y) past 65535 workgroups a
 * dimension: an output over 2M columns wide has more column tiles of 32 than that, and the grid [column tiles,
 * row tiles] was refused after C was allocated. Workgroups past the last tile get a row tile past M. */
fn tileOf(wid: vec3u, nwg: vec3u, tileN: u32) -> vec2u {
  let tile = wid.x + nwg.x * wid.y;
  let colTiles = (p.N + tileN - 1u) / tileN;
  return vec2u(tile / colTiles, tile % colTiles);
}

// The GEMM family's uniforms and the tile each workgroup takes, shared by gemm-common.wgsl (the scalar bindings)
// and gemm-aligned.wgsl (the vec4 ones): src/kernels/gemm.ts prepends this file (after tile-grid.wgsl) to each
// (WGSL has no includes), so the host writes one layout and folds one grid.

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

/** The workgroup's tile of C as (row tile, column tile), for tiles `tileN` columns wide (tile-grid.wgsl, prepended
 * before this file): workgroups past the last tile get a row tile past M. */
fn tileOf(wid: vec3u, nwg: vec3u, tileN: u32) -> vec2u {
  return foldedTile(wid, nwg, (p.N + tileN - 1u) / tileN);
}

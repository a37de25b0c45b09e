// The shader's side of tileGrid (src/gpu/runtime.ts), prepended by the kernels whose grids it lays out (GEMM,
// transpose, the convolutions; WGSL has no includes): tiles numbered row by row on the grid's (x, y), [column
// tiles, row tiles] as long as both fit, else folded into 2-D past 65535 workgroups a dimension (a matmul output over
// 2M columns has more column tiles of 32 than that). A folded grid's workgroups past the last tile get a row tile
// past the end: the caller returns for them, the whole workgroup alike.

/** The workgroup's tile as (row tile, column tile) of a grid `colTiles` tiles wide. */
fn foldedTile(wid: vec3u, nwg: vec3u, colTiles: u32) -> vec2u {
  let t = wid.x + nwg.x * wid.y;
  return vec2u(t / colTiles, t % colTiles);
}

// dst[c, r] = src[r, c] for a row-major rows × cols matrix (src/kernels/transpose.ts). A workgroup moves a
// 32×32 tile through workgroup memory, so that both its global reads (along a row of src) and its writes (along
// a row of dst) are consecutive; the tile's rows are padded by a word, so that reading one of its columns hits
// 32 distinct banks. The grid is the tiles as tile-grid.wgsl reads them (src/kernels/transpose.ts prepends it): a
// matrix over 2M columns or rows has more than 65535 tiles on a side.

struct Params {
  rows: u32,
  cols: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

const TILE = 32u;
const ROWS_PER_PASS = 8u;
var<workgroup> tile: array<f32, 1056>; // TILE × (TILE + 1)

@compute @workgroup_size(32, 8)
fn transpose(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  // A workgroup past the last tile gets a row past the end, and neither reads nor writes.
  let origin = foldedTile(wid, nwg, (p.cols + TILE - 1u) / TILE) * TILE;
  let row0 = origin.x;
  let col0 = origin.y;
  for (var i = 0u; i < TILE; i += ROWS_PER_PASS) {
    let r = row0 + lid.y + i;
    let c = col0 + lid.x;
    if (r < p.rows && c < p.cols) {
      tile[(lid.y + i) * (TILE + 1u) + lid.x] = src[r * p.cols + c];
    }
  }
  workgroupBarrier();
  // Thread x now writes row col0 + y + i of dst, column row0 + x: the tile's column y + i.
  for (var i = 0u; i < TILE; i += ROWS_PER_PASS) {
    let c = col0 + lid.y + i;
    let r = row0 + lid.x;
    if (c < p.cols && r < p.rows) {
      dst[c * p.rows + r] = tile[lid.x * (TILE + 1u) + lid.y + i];
    }
  }
}

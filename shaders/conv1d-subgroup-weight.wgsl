// conv1d's weight gradient for CPU drivers with subgroups (lavapipe), in the manner of gemm-subgroup.wgsl:
//   dw[co, ci, k] = Σ_n Σ_lo dy[n, co, lo] · x[n, ci, lo·stride − padding + k·dilation]   (x zero outside [0, L))
// a GEMM of Cout × (Cin·K) reduced over positions (n, lo). A workgroup is one subgroup and owns a
// (ROW_GROUPS·LANES) × (COLS·LANES) block of dw for one chunk of positions (a range of lo inside sample n, or
// samplesPerChunk whole samples: see conv1d-backward-weight.wgsl);
// lane i owns columns col0 + i + LANES·j, a column being the pair (ci, k) = (col / K, col % K). Per position,
// lane i loads dy for output channel co0 + LANES·g + i of each row group g and x for each of its columns, then
// broadcasts each dy value to all lanes (subgroupShuffle): ROW_GROUPS + COLS loads, all used, for
// ROW_GROUPS·LANES·COLS FMAs per lane, where the per-invocation kernel (conv1d-backward-weight.wgsl) needs a
// load for every 8 or so FMAs and lavapipe turns each into a loop over the lanes.
//
// Writes partials [chunks, Cout, Cin·K]; the `reduce` entry of conv1d-backward-weight.wgsl adds the chunks up
// (or, with a single chunk, this writes dw itself). Grid: [column blocks, row blocks] or those folded
// (foldedTile in tile-grid.wgsl), by chunks on z.

struct Params {
  shape: Shape,
  chunkLength: u32, // positions lo per chunk
  chunksPerSample: u32,
  samplesPerChunk: u32, // 1 unless chunksPerSample is 1
  samples: u32, // N
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;

// The subgroup size the host expects; if the driver runs another, the output is NaN rather than wrong.
override LANES: u32 = 8;
override ROW_GROUPS: u32 = 4; // at most 4, and ROW_GROUPS·LANES <= 32
override COLS: u32 = 4; // at most 4

override BLOCK_M: u32 = ROW_GROUPS * LANES;
override BLOCK_N: u32 = COLS * LANES;

@compute @workgroup_size(LANES)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(subgroup_invocation_id) lane: u32,
  @builtin(subgroup_size) lanes: u32,
) {
  let columns = p.shape.cin * p.shape.kernel;
  let block = foldedTile(wid, nwg, (columns + BLOCK_N - 1u) / BLOCK_N);
  let co0 = block.x * BLOCK_M;
  if (co0 >= p.shape.cout) {
    return;
  }
  let col0 = block.y * BLOCK_N;
  let firstSample = wid.z / p.chunksPerSample * p.samplesPerChunk;
  let loStart = (wid.z % p.chunksPerSample) * p.chunkLength;
  let loEnd = min(loStart + p.chunkLength, p.shape.lout);

  // acc[r·4 + j]: output channel co0 + r, column col0 + j·LANES + lane.
  var acc: array<f32, 128>;
  for (var n = firstSample; n < min(firstSample + p.samplesPerChunk, p.samples); n++) {
    // Rows and columns past the edge read the last one (in bounds); their results are not stored.
    var dyRow: array<u32, 4>;
    for (var g = 0u; g < ROW_GROUPS; g++) {
      dyRow[g] = (n * p.shape.cout + min(co0 + g * LANES + lane, p.shape.cout - 1u)) * p.shape.lout;
    }
    // x of column j at position lo is x[xRow[j] + lo·stride + offset[j]] where 0 <= lo·stride + offset[j] < L.
    var xRow: array<u32, 4>;
    var offset: array<i32, 4>;
    for (var j = 0u; j < COLS; j++) {
      let col = min(col0 + j * LANES + lane, columns - 1u);
      xRow[j] = (n * p.shape.cin + col / p.shape.kernel) * p.shape.length;
      offset[j] = i32((col % p.shape.kernel) * p.shape.dilation) - i32(p.shape.padding);
    }

    for (var lo = loStart; lo < loEnd; lo++) {
      let at = i32(lo * p.shape.stride);
      var xv: array<f32, 4>;
      for (var j = 0u; j < COLS; j++) {
        let t = at + offset[j];
        xv[j] = select(0.0, x[rowIndex(xRow[j], t, p.shape.length)], insideRow(t, p.shape.length));
      }
      for (var g = 0u; g < ROW_GROUPS; g++) {
        let dv = dy[dyRow[g] + lo];
        for (var i = 0u; i < LANES; i++) {
          let d = subgroupShuffle(dv, i);
          let r = g * LANES + i;
          for (var j = 0u; j < COLS; j++) {
            acc[r * 4u + j] = fma(d, xv[j], acc[r * 4u + j]);
          }
        }
      }
    }
  }

  let wrongSize = lanes != LANES;
  let base = wid.z * p.shape.cout * columns;
  for (var r = 0u; r < BLOCK_M; r++) {
    let co = co0 + r;
    if (co >= p.shape.cout) {
      break;
    }
    for (var j = 0u; j < COLS; j++) {
      let col = col0 + j * LANES + lane;
      if (col < columns) {
        partials[base + co * columns + col] = select(acc[r * 4u + j], bitcast<f32>(0x7fc00000u | lanes), wrongSize);
      }
    }
  }
}

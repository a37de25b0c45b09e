// conv1d backward with respect to the weight, a GEMM of Cout × (Cin·K) reduced over N·Lout:
//   dw[co, ci, k] = Σ_n Σ_lo dy[n, co, lo] · x[n, ci, lo·stride − padding + k·dilation]   (zero outside [0, L))
// dy [N, Cout, Lout], x [N, Cin, L], dw [Cout, Cin, K].
//
// The N·Lout reduction is cut into chunks (a range of lo inside one sample); `partial` computes every chunk's sum
// into partials [chunks, Cout, Cin·K] and `reduce` adds them up in a fixed order (deterministic, no float atomics).
// With a single chunk `partial` writes dw directly.
// In `partial` one invocation keeps TILE_CO output channels × TILE_COL columns (ci, k) in registers; the tiles
// (channel tile, column tile) are numbered linearly over workgroup x (no idle lanes when Cin·K is small), and
// workgroup y is the chunk.

override WG: u32 = 64;
const TILE_CO: u32 = 4u;
const TILE_COL: u32 = 4u;

struct Params {
  cin: u32,
  length: u32,
  cout: u32,
  kernel: u32,
  lout: u32,
  stride: u32,
  padding: u32,
  dilation: u32,
  chunkLength: u32, // positions lo per chunk
  chunksPerSample: u32,
  colTiles: u32, // ceil(Cin·K / TILE_COL)
  coTiles: u32, // ceil(Cout / TILE_CO)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;

@compute @workgroup_size(WG)
fn partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tile = wid.x * WG + lid.x;
  if (tile >= params.colTiles * params.coTiles) {
    return;
  }
  let chunk = wid.y;
  let n = chunk / params.chunksPerSample;
  let loStart = (chunk % params.chunksPerSample) * params.chunkLength;
  let loEnd = min(loStart + params.chunkLength, params.lout);
  let coBase = (tile / params.colTiles) * TILE_CO;
  let colBase = (tile % params.colTiles) * TILE_COL;
  let columns = params.cin * params.kernel;
  let L = i32(params.length);
  let stride = i32(params.stride);

  // Out-of-range channels and columns (partial last tiles) read the last valid one and are never stored.
  var dyRow: array<u32, TILE_CO>;
  for (var i = 0u; i < TILE_CO; i++) {
    dyRow[i] = (n * params.cout + min(coBase + i, params.cout - 1u)) * params.lout;
  }
  var xRow: array<u32, TILE_COL>;
  var tap: array<i32, TILE_COL>;
  for (var j = 0u; j < TILE_COL; j++) {
    let col = min(colBase + j, columns - 1u);
    let ci = col / params.kernel;
    let k = col % params.kernel;
    xRow[j] = (n * params.cin + ci) * params.length;
    tap[j] = i32(k * params.dilation) - i32(params.padding);
  }

  // The chunk's receptive field inside [0, L) (the same for the whole workgroup) skips the bounds checks.
  let first = i32(loStart) * stride - i32(params.padding);
  let last = i32(loEnd - 1u) * stride - i32(params.padding) + i32((params.kernel - 1u) * params.dilation);
  let interior = first >= 0 && last < L;

  var acc: array<array<f32, TILE_COL>, TILE_CO>;
  for (var lo = loStart; lo < loEnd; lo++) {
    let origin = i32(lo) * stride;
    var xv: array<f32, TILE_COL>;
    if (interior) {
      for (var j = 0u; j < TILE_COL; j++) {
        xv[j] = x[xRow[j] + u32(origin + tap[j])];
      }
    } else {
      for (var j = 0u; j < TILE_COL; j++) {
        let p = origin + tap[j];
        xv[j] = select(0.0, x[xRow[j] + u32(clamp(p, 0, L - 1))], p >= 0 && p < L);
      }
    }
    for (var i = 0u; i < TILE_CO; i++) {
      let g = dy[dyRow[i] + lo];
      for (var j = 0u; j < TILE_COL; j++) {
        acc[i][j] = fma(g, xv[j], acc[i][j]);
      }
    }
  }

  let out = chunk * params.cout * columns;
  for (var i = 0u; i < TILE_CO; i++) {
    let co = coBase + i;
    if (co >= params.cout) {
      break;
    }
    for (var j = 0u; j < TILE_COL; j++) {
      let col = colBase + j;
      if (col < columns) {
        partials[out + co * columns + col] = acc[i][j];
      }
    }
  }
}

struct ReduceParams {
  count: u32, // Cout·Cin·K
  chunks: u32,
  rowWidth: u32, // threads per row of the 2-D grid (grid1d's fold)
}

@group(0) @binding(0) var<uniform> reduceParams: ReduceParams;
@group(0) @binding(1) var<storage, read> chunkSums: array<f32>;
@group(0) @binding(2) var<storage, read_write> dw: array<f32>;

@compute @workgroup_size(WG)
fn reduce(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * reduceParams.rowWidth;
  if (i >= reduceParams.count) {
    return;
  }
  var sum = 0.0;
  for (var c = 0u; c < reduceParams.chunks; c++) {
    sum += chunkSums[i + c * reduceParams.count];
  }
  dw[i] = sum;
}

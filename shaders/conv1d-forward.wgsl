// conv1d forward as an implicit GEMM: y[n, co, lo] = bias[co] + Σ_ci Σ_k w[co, ci, k] · x[n, ci, lo·stride − padding + k·dilation]
// x [N, Cin, L], w [Cout, Cin, K], y [N, Cout, Lout], zero padding outside [0, L).
//
// One invocation keeps a TILE_CO × TILE_L tile of y in registers (TILE_CO output channels × TILE_L positions of one
// sample) and walks the Cin·K reduction: per step TILE_CO weights and TILE_L inputs give TILE_CO·TILE_L FMAs.
// Workgroups: x over position blocks of WG·TILE_L, y over channel blocks of TILE_CO, z over the batch. The lanes of a
// workgroup walk consecutive positions (lo = block + lane + j·WG), so their input loads are contiguous and their
// weight loads the same address (uniform). No workgroup memory: on lavapipe barriers cost more than the cache saves.

override WG: u32 = 64;
const TILE_CO: u32 = 4u;
const TILE_L: u32 = 4u;

struct Params {
  cin: u32,
  length: u32,
  cout: u32,
  kernel: u32,
  lout: u32,
  stride: u32,
  padding: u32,
  dilation: u32,
  hasBias: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
// Without a bias the caller binds w here again (read-only aliasing is allowed) and sets hasBias = 0.
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let n = wid.z;
  let coBase = wid.y * TILE_CO;
  let blockStart = wid.x * WG * TILE_L;
  let lo0 = blockStart + lid.x;
  let L = i32(params.length);
  let K = params.kernel;
  let stride = i32(params.stride);
  let dilation = i32(params.dilation);

  // Channels past Cout (a partial last block) read channel Cout−1 and are never stored.
  var wRow: array<u32, TILE_CO>;
  var acc: array<array<f32, TILE_L>, TILE_CO>;
  for (var i = 0u; i < TILE_CO; i++) {
    let co = min(coBase + i, params.cout - 1u);
    wRow[i] = co * params.cin * K;
    let b = select(0.0, bias[co], params.hasBias != 0u);
    for (var j = 0u; j < TILE_L; j++) {
      acc[i][j] = b;
    }
  }

  // The whole block's receptive field inside [0, L) (the same answer for every lane) skips the bounds checks.
  let blockEnd = min(blockStart + WG * TILE_L, params.lout) - 1u;
  let first = i32(blockStart) * stride - i32(params.padding);
  let last = i32(blockEnd) * stride - i32(params.padding) + i32(K - 1u) * dilation;
  let interior = first >= 0 && last < L;

  // Input position of tap 0 for each of the lane's outputs; positions past Lout repeat the last one (not stored).
  var start: array<i32, TILE_L>;
  for (var j = 0u; j < TILE_L; j++) {
    start[j] = i32(min(lo0 + j * WG, params.lout - 1u)) * stride - i32(params.padding);
  }

  for (var ci = 0u; ci < params.cin; ci++) {
    let xRow = (n * params.cin + ci) * params.length;
    let wOffset = ci * K;
    for (var k = 0u; k < K; k++) {
      let tap = i32(k) * dilation;
      var xv: array<f32, TILE_L>;
      if (interior) {
        for (var j = 0u; j < TILE_L; j++) {
          xv[j] = x[xRow + u32(start[j] + tap)];
        }
      } else {
        for (var j = 0u; j < TILE_L; j++) {
          let p = start[j] + tap;
          xv[j] = select(0.0, x[xRow + u32(clamp(p, 0, L - 1))], p >= 0 && p < L);
        }
      }
      for (var i = 0u; i < TILE_CO; i++) {
        let wv = w[wRow[i] + wOffset + k];
        for (var j = 0u; j < TILE_L; j++) {
          acc[i][j] = fma(wv, xv[j], acc[i][j]);
        }
      }
    }
  }

  for (var i = 0u; i < TILE_CO; i++) {
    let co = coBase + i;
    if (co >= params.cout) {
      break;
    }
    let yRow = (n * params.cout + co) * params.lout;
    for (var j = 0u; j < TILE_L; j++) {
      let lo = lo0 + j * WG;
      if (lo < params.lout) {
        y[yRow + lo] = acc[i][j];
      }
    }
  }
}

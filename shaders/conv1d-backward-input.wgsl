// conv1d backward with respect to the input, gathered per output (no atomics):
//   dx[n, ci, l] = Σ_co Σ_k w[co, ci, k] · dy[n, co, lo]   over the (k, lo) with lo·stride − padding + k·dilation = l,
//   i.e. lo = (l + padding − k·dilation) / stride where that divides exactly and 0 ≤ lo < Lout.
// dy [N, Cout, Lout], w [Cout, Cin, K], dx [N, Cin, L].
//
// Positions are split into `stride` phases (l mod stride): within one phase the same taps k divide exactly, and
// consecutive positions of the phase read consecutive lo. One invocation keeps TILE_CI input channels × TILE_L
// positions of one phase (l = (q + j·WG)·stride + phase) in registers. Workgroups: x over blocks of WG·TILE_L
// phase positions q, y over (channel block, phase) as block·stride + phase, z over the batch.

override WG: u32 = 64;
const TILE_CI: u32 = 4u;
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
  phaseLength: u32, // ceil(L / stride): positions q per phase
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let n = wid.z;
  let stride = params.stride;
  let phase = wid.y % stride;
  let ciBase = (wid.y / stride) * TILE_CI;
  let blockStart = wid.x * WG * TILE_L;
  let q0 = blockStart + lid.x;
  let K = params.kernel;
  let lout = i32(params.lout);

  // Channels past Cin (a partial last block) read channel Cin−1 and are never stored.
  var wCol: array<u32, TILE_CI>;
  for (var i = 0u; i < TILE_CI; i++) {
    wCol[i] = min(ciBase + i, params.cin - 1u) * K;
  }
  // Phase positions past the end repeat the last one (not stored).
  var q: array<i32, TILE_L>;
  for (var j = 0u; j < TILE_L; j++) {
    q[j] = i32(min(q0 + j * WG, params.phaseLength - 1u));
  }
  let qFirst = i32(blockStart);
  let qLast = i32(min(blockStart + WG * TILE_L, params.phaseLength) - 1u);

  var acc: array<array<f32, TILE_L>, TILE_CI>;
  for (var k = 0u; k < K; k++) {
    let t = i32(phase + params.padding) - i32(k * params.dilation);
    if (t % i32(stride) != 0) {
      continue;
    }
    let offset = t / i32(stride);
    // Every lane of the block reads inside [0, Lout): no bounds checks for this tap.
    let interior = qFirst + offset >= 0 && qLast + offset < lout;
    for (var co = 0u; co < params.cout; co++) {
      let dyRow = (n * params.cout + co) * params.lout;
      var g: array<f32, TILE_L>;
      if (interior) {
        for (var j = 0u; j < TILE_L; j++) {
          g[j] = dy[dyRow + u32(q[j] + offset)];
        }
      } else {
        for (var j = 0u; j < TILE_L; j++) {
          let lo = q[j] + offset;
          g[j] = select(0.0, dy[dyRow + u32(clamp(lo, 0, lout - 1))], lo >= 0 && lo < lout);
        }
      }
      let wRow = co * params.cin * K + k;
      for (var i = 0u; i < TILE_CI; i++) {
        let wv = w[wRow + wCol[i]];
        for (var j = 0u; j < TILE_L; j++) {
          acc[i][j] = fma(wv, g[j], acc[i][j]);
        }
      }
    }
  }

  for (var i = 0u; i < TILE_CI; i++) {
    let ci = ciBase + i;
    if (ci >= params.cin) {
      break;
    }
    let dxRow = (n * params.cin + ci) * params.length;
    for (var j = 0u; j < TILE_L; j++) {
      let l = (q0 + j * WG) * stride + phase;
      if (q0 + j * WG < params.phaseLength && l < params.length) {
        dx[dxRow + l] = acc[i][j];
      }
    }
  }
}

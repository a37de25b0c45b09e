// conv1d forward: y[n, co, lo] = bias[co] + Σ_ci Σ_k w[co, ci, k] · x[n, ci, lo·stride − padding + k·dilation]
// x [N, Cin, L], w [Cout, Cin, K], y [N, Cout, Lout]; x is zero outside [0, L).
//
// An implicit GEMM (Cout × N·Lout, reduced over Cin·K) whose input operand is read through a sliding window.
// With g = gcd(stride, dilation), tapPhases = stride/g and spacing = dilation/g, output lo + spacing at tap
// k − tapPhases reads the same input as output lo at tap k. So one invocation takes TILE_L outputs spaced by
// `spacing` (lo_j = lo_0 + spacing·j) and walks the taps of one phase b (k = b + tapPhases·a): the TILE_L inputs
// of step a + 1 are those of step a shifted by one slot plus a single new load. Per step that is one input load and
// TILE_CO weight loads for TILE_CO·TILE_L FMAs; on CPU drivers (lavapipe), where every storage load is a gather
// costing about ten FMAs, this ratio is what sets the speed.
//
// Invocations are numbered t = residue + spacing·group over workgroup x (residue < spacing, group < groups);
// workgroup y is the block of TILE_CO output channels, z the sample. No workgroup memory, no barriers.

override WG: u32 = 64;
override TILE_CO: u32 = 8; // at most 16
override TILE_L: u32 = 16; // at most 32

struct Params {
  cin: u32,
  length: u32,
  cout: u32,
  kernel: u32,
  lout: u32,
  stride: u32,
  padding: u32,
  dilation: u32,
  tapPhases: u32, // stride / gcd(stride, dilation)
  spacing: u32, // dilation / gcd(stride, dilation)
  step: u32, // lcm(stride, dilation): input distance between neighbouring window slots
  groups: u32, // ceil(ceil(Lout / spacing) / TILE_L)
  hasBias: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
// Without a bias the caller binds w here again (read-only aliasing is allowed) and sets hasBias = 0.
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

fn input(row: u32, position: i32) -> f32 {
  let inside = position >= 0 && position < i32(params.length);
  return select(0.0, x[row + u32(clamp(position, 0, i32(params.length) - 1))], inside);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = wid.x * WG + lid.x;
  if (t >= params.spacing * params.groups) {
    return;
  }
  let n = wid.z;
  let coBase = wid.y * TILE_CO;
  let K = params.kernel;
  let phases = params.tapPhases;
  let step = i32(params.step);
  let lo0 = t % params.spacing + params.spacing * (t / params.spacing) * TILE_L;

  // Channels past Cout (a partial last block) read channel Cout−1 and are never stored.
  var wRow: array<u32, 16>;
  var acc: array<f32, 512>; // acc[i·TILE_L + j]: channel coBase + i, output lo0 + spacing·j
  for (var i = 0u; i < TILE_CO; i++) {
    let co = min(coBase + i, params.cout - 1u);
    wRow[i] = co * params.cin * K;
    let b = select(0.0, bias[co], params.hasBias != 0u);
    for (var j = 0u; j < TILE_L; j++) {
      acc[i * TILE_L + j] = b;
    }
  }

  var window: array<f32, 32>;
  for (var ci = 0u; ci < params.cin; ci++) {
    let xRow = (n * params.cin + ci) * params.length;
    for (var b = 0u; b < min(phases, K); b++) {
      let taps = (K - b + phases - 1u) / phases;
      // Input of output j at tap b + phases·a: origin + step·(j + a).
      let origin = i32(lo0 * params.stride + b * params.dilation) - i32(params.padding);
      for (var j = 0u; j < TILE_L; j++) {
        window[j] = input(xRow, origin + step * i32(j));
      }
      for (var a = 0u; a < taps; a++) {
        let k = ci * K + b + phases * a;
        for (var i = 0u; i < TILE_CO; i++) {
          let wv = w[wRow[i] + k];
          for (var j = 0u; j < TILE_L; j++) {
            acc[i * TILE_L + j] = fma(wv, window[j], acc[i * TILE_L + j]);
          }
        }
        for (var j = 0u; j + 1u < TILE_L; j++) {
          window[j] = window[j + 1u];
        }
        window[TILE_L - 1u] = input(xRow, origin + step * i32(TILE_L + a));
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
      let lo = lo0 + params.spacing * j;
      if (lo < params.lout) {
        y[yRow + lo] = acc[i * TILE_L + j];
      }
    }
  }
}

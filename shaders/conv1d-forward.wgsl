// conv1d forward: y[n, co, lo] = bias[co] + Σ_ci Σ_k w[co, ci, k] · x[n, ci, lo·stride − padding + k·dilation]
// x [N, Cin, L], w [Cout, Cin, K], y [N, Cout, Lout]; x is zero outside [0, L).
//
// An implicit GEMM (Cout × N·Lout, reduced over Cin·K) whose input operand is read through a sliding window.
// With g = gcd(stride, dilation), tapPhases = stride/g and spacing = dilation/g, output lo + spacing at tap
// k − tapPhases reads the same input as output lo at tap k. So one invocation takes 4·TILE_L4 outputs spaced by
// `spacing` (lo_j = lo_0 + spacing·j) and walks the taps of one phase b (k = b + tapPhases·a): the inputs of step
// a + 1 are those of step a shifted by one slot, plus one new load. Per step: one input load and TILE_CO weight
// loads for TILE_CO·4·TILE_L4 FMAs. On CPU drivers (lavapipe) every storage load is a per-lane gather that costs
// far more than an FMA, so this ratio is what sets the speed.
//
// Register tiles are arrays of vec4 indexed only by loop counters of override-bounded loops, which the driver
// unrolls so that the arrays live in registers (a per-lane indexed array would go to scratch memory). The final
// stores go through a copy, so that the indexed stores leave the accumulators alone.
//
// Invocations are numbered t = residue + spacing·group (residue < spacing, group < groups) over the column blocks
// of WG; a row block is TILE_CO output channels (foldedTile in tile-grid.wgsl: [column blocks, row blocks],
// folded past 65535); z is the sample. No workgroup memory, no barriers.

override WG: u32 = 64;
override TILE_CO: u32 = 8; // output channels per invocation, at most 16
override TILE_L4: u32 = 4; // outputs per invocation / 4, at most 8

struct Params {
  shape: Shape,
  tapPhases: u32, // stride / gcd(stride, dilation)
  spacing: u32, // dilation / gcd(stride, dilation)
  step: u32, // lcm(stride, dilation): input distance between neighbouring window slots
  groups: u32, // ceil(ceil(Lout / spacing) / (4·TILE_L4))
  hasBias: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
// Without a bias the caller binds w here again (read-only aliasing is allowed) and sets hasBias = 0.
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

fn input(row: u32, position: i32) -> f32 {
  return select(0.0, x[rowIndex(row, position, params.shape.length)], insideRow(position, params.shape.length));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let threads = params.spacing * params.groups;
  let block = foldedTile(wid, nwg, (threads + WG - 1u) / WG);
  let t = block.y * WG + lid.x;
  let coBase = block.x * TILE_CO;
  if (t >= threads || coBase >= params.shape.cout) {
    return;
  }
  let n = wid.z;
  let K = params.shape.kernel;
  let phases = params.tapPhases;
  let step = i32(params.step);
  let lo0 = t % params.spacing + params.spacing * (t / params.spacing) * 4u * TILE_L4;

  // Channels past Cout (a partial last block) read channel Cout−1 and are never stored.
  var wRow: array<u32, 16>;
  // acc[i·TILE_L4 + q][c]: channel coBase + i, output lo0 + spacing·(4q + c).
  var acc: array<vec4<f32>, 128>;
  for (var i = 0u; i < TILE_CO; i++) {
    let co = min(coBase + i, params.shape.cout - 1u);
    wRow[i] = co * params.shape.cin * K;
    let b = select(0.0, bias[co], params.hasBias != 0u);
    for (var q = 0u; q < TILE_L4; q++) {
      acc[i * TILE_L4 + q] = vec4<f32>(b);
    }
  }

  // window[q][c] is the input of output 4q + c at the current tap; window[TILE_L4].x the next one in.
  var window: array<vec4<f32>, 9>;
  for (var b = 0u; b < min(phases, K); b++) {
    let taps = (K - b + phases - 1u) / phases;
    // Input of output j at tap b + phases·a: origin + step·(j + a).
    let origin = i32(lo0 * params.shape.stride + b * params.shape.dilation) - i32(params.shape.padding);
    for (var ci = 0u; ci < params.shape.cin; ci++) {
      let xRow = (n * params.shape.cin + ci) * params.shape.length;
      for (var q = 0u; q < TILE_L4; q++) {
        let p = origin + step * i32(4u * q);
        window[q] = vec4<f32>(input(xRow, p), input(xRow, p + step), input(xRow, p + 2 * step), input(xRow, p + 3 * step));
      }
      for (var a = 0u; a < taps; a++) {
        let k = ci * K + b + phases * a;
        for (var i = 0u; i < TILE_CO; i++) {
          let wv = vec4<f32>(w[wRow[i] + k]);
          for (var q = 0u; q < TILE_L4; q++) {
            acc[i * TILE_L4 + q] = fma(wv, window[q], acc[i * TILE_L4 + q]);
          }
        }
        window[TILE_L4].x = input(xRow, origin + step * i32(4u * TILE_L4 + a));
        for (var q = 0u; q < TILE_L4; q++) {
          window[q] = vec4<f32>(window[q].yzw, window[q + 1u].x);
        }
      }
    }
  }

  let result = acc;
  for (var i = 0u; i < min(TILE_CO, params.shape.cout - coBase); i++) {
    let yRow = (n * params.shape.cout + coBase + i) * params.shape.lout;
    for (var j = 0u; j < 4u * TILE_L4; j++) {
      let lo = lo0 + params.spacing * j;
      if (lo < params.shape.lout) {
        y[yRow + lo] = result[i * TILE_L4 + j / 4u][j % 4u];
      }
    }
  }
}

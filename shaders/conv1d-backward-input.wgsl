// conv1d backward with respect to the input, gathered per output (no atomics):
//   dx[n, ci, l] = Σ_co Σ_k w[co, ci, k] · dy[n, co, lo]   over the taps k with lo·stride − padding + k·dilation = l,
//   i.e. lo = (l + padding − k·dilation) / stride where that divides exactly and 0 ≤ lo < Lout.
// dy [N, Cout, Lout], w [Cout, Cin, K], dx [N, Cin, L].
//
// With g = gcd(stride, dilation), tapPhases = stride/g, spacing = dilation/g and step = lcm(stride, dilation):
// positions l and l + step have the same valid taps, k0 + tapPhases·a, and position l + step at tap
// k + tapPhases reads the same dy as position l at tap k. So one invocation takes 4·TILE_L4 positions
// l_j = l_0 + step·j and walks their taps with a sliding window over dy (slot j holds dy[lo_0 + spacing·(j − a)]):
// one new dy load per tap, plus TILE_CI weight loads, for TILE_CI·4·TILE_L4 FMAs.
// Register tiles are vec4 arrays indexed only by counters of override-bounded (unrolled) loops; see
// conv1d-forward.wgsl.
//
// Invocations t = residue + step·group (positions residue + step·(4·TILE_L4·group + j)) over the column blocks of
// WG; a row block is TILE_CI input channels (foldedTile in tile-grid.wgsl: [column blocks, row blocks], folded
// past 65535); z is the sample.

override WG: u32 = 64;
override TILE_CI: u32 = 4; // input channels per invocation, at most 16
override TILE_L4: u32 = 4; // positions per invocation / 4, at most 8

struct Params {
  shape: Shape,
  tapPhases: u32, // stride / g
  spacing: u32, // dilation / g
  step: u32, // lcm(stride, dilation)
  groups: u32, // ceil(ceil(L / step) / (4·TILE_L4))
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

fn gradient(row: u32, lo: i32) -> f32 {
  return select(0.0, dy[rowIndex(row, lo, params.shape.lout)], insideRow(lo, params.shape.lout));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let threads = params.step * params.groups;
  let block = foldedTile(wid, nwg, (threads + WG - 1u) / WG);
  let t = block.y * WG + lid.x;
  let ciBase = block.x * TILE_CI;
  if (t >= threads || ciBase >= params.shape.cin) {
    return;
  }
  let n = wid.z;
  let K = params.shape.kernel;
  let stride = params.shape.stride;
  let residue = t % params.step;
  let l0 = residue + params.step * (t / params.step) * 4u * TILE_L4;

  // The first valid tap k0 (the others are k0 + tapPhases·a); none when k0 ≥ K.
  var k0 = K;
  for (var k = 0u; k < min(params.tapPhases, K); k++) {
    if ((l0 + params.shape.padding + stride * K * params.shape.dilation - k * params.shape.dilation) % stride == 0u) {
      k0 = k;
      break;
    }
  }
  let taps = select(0u, (K - k0 + params.tapPhases - 1u) / params.tapPhases, k0 < K);
  // lo of position l0 at tap k0 (exact division; may be negative or past Lout, then dy reads as zero).
  let lo00 = (i32(l0 + params.shape.padding) - i32(k0 * params.shape.dilation)) / i32(stride);
  let spacing = i32(params.spacing);

  // Channels past Cin (a partial last block) read channel Cin−1 and are never stored.
  var wCol: array<u32, 16>;
  for (var i = 0u; i < TILE_CI; i++) {
    wCol[i] = min(ciBase + i, params.shape.cin - 1u) * K + k0;
  }

  // acc[i·TILE_L4 + q][c]: channel ciBase + i, position l0 + step·(4q + c).
  var acc: array<vec4<f32>, 64>;
  // window[q][c]: dy of position 4q + c at the current tap.
  var window: array<vec4<f32>, 8>;
  for (var co = 0u; co < params.shape.cout; co++) {
    let dyRow = (n * params.shape.cout + co) * params.shape.lout;
    for (var q = 0u; q < TILE_L4; q++) {
      let lo = lo00 + spacing * i32(4u * q);
      window[q] = vec4<f32>(gradient(dyRow, lo), gradient(dyRow, lo + spacing), gradient(dyRow, lo + 2 * spacing), gradient(dyRow, lo + 3 * spacing));
    }
    let wRow = co * params.shape.cin * K;
    for (var a = 0u; a < taps; a++) {
      let k = wRow + params.tapPhases * a;
      for (var i = 0u; i < TILE_CI; i++) {
        let wv = vec4<f32>(w[wCol[i] + k]);
        for (var q = 0u; q < TILE_L4; q++) {
          acc[i * TILE_L4 + q] = fma(wv, window[q], acc[i * TILE_L4 + q]);
        }
      }
      // Slide right by one slot: slot 0 takes the dy one spacing further back.
      let fresh = gradient(dyRow, lo00 - spacing * i32(a + 1u));
      for (var r = 1u; r < TILE_L4; r++) {
        let q = TILE_L4 - r;
        window[q] = vec4<f32>(window[q - 1u].w, window[q].xyz);
      }
      window[0] = vec4<f32>(fresh, window[0].xyz);
    }
  }

  let result = acc;
  for (var i = 0u; i < min(TILE_CI, params.shape.cin - ciBase); i++) {
    let dxRow = (n * params.shape.cin + ciBase + i) * params.shape.length;
    for (var j = 0u; j < 4u * TILE_L4; j++) {
      let l = l0 + params.step * j;
      if (l < params.shape.length) {
        dx[dxRow + l] = result[i * TILE_L4 + j / 4u][j % 4u];
      }
    }
  }
}

// conv1d as an implicit GEMM for CPU drivers with subgroups (lavapipe), serving the forward pass and the
// stride-1 gradient of the input. Both are one correlation:
//
//   out[n, m, l] = bias[m] + Σ_c Σ_k a[m·aStepM + c·aStepC + k] · src[n, c, l·stride + offset + k·tapStep]
//
//   forward           m = co, c = ci, src = x,  a = w [Cout, Cin, K]: aStepM = Cin·K, aStepC = K,
//                     offset = −padding, tapStep = dilation
//   backward input    m = ci, c = co, src = dy, a = w read as [Cin, Cout, K]: aStepM = K, aStepC = Cin·K,
//   (stride 1)        offset = padding, tapStep = −dilation            (dx[l] = Σ w[co,ci,k]·dy[l + p − k·d])
//
// src is zero outside [0, lengthIn). Why a separate kernel: see shaders/gemm-subgroup.wgsl. A CPU driver runs a
// subgroup's lanes in one SIMD register, and a load whose address differs per lane costs a loop over the lanes,
// so every load here fetches LANES values that all lanes use. A workgroup is one subgroup and owns a
// (ROW_GROUPS·LANES) × (COLS·LANES) block of one sample's output: lane i owns positions l0 + i + LANES·j of every
// row. Per (c, k) each lane loads COLS inputs and ROW_GROUPS weights, and the weights reach all lanes by
// subgroupShuffle: ROW_GROUPS + COLS loads for ROW_GROUPS·LANES·COLS FMAs per lane, no workgroup memory.
//
// The grid is the blocks of rows × positions, [ceil(lengthOut / (COLS·LANES)), ceil(rows / (ROW_GROUPS·LANES))]
// or those folded (foldedTile in tile-grid.wgsl), by N samples on z.
//
// Entry points: `main` for any stride and tap step; `window` for stride 1 and a tap step of ±1 (the model's
// middle layers, forward and input gradient), where lane i owns COLS consecutive positions instead, whose
// inputs over all TAPS taps are COLS + TAPS − 1 consecutive values: loaded once per channel and reused from
// registers (TAPS is an override constant, so the window is indexed by unrolled loop counters).

struct Params {
  rows: u32, // m: output channels of this correlation
  channels: u32, // c: reduced channels
  lengthIn: u32,
  lengthOut: u32,
  taps: u32,
  stride: u32,
  offset: i32,
  tapStep: i32,
  aStepM: u32,
  aStepC: u32,
  hasBias: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
// Without a bias the host binds `a` here again (read-only aliasing is allowed); it is never read.
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

// The subgroup size the host expects; if the driver runs another, the output is NaN rather than silently wrong.
override LANES: u32 = 8;
override ROW_GROUPS: u32 = 4; // at most 4, ROW_GROUPS·LANES at most 32
override COLS: u32 = 4; // at most 4

override TAPS: u32 = 3; // `window` only: the kernel length, at most 9

override BLOCK_M: u32 = ROW_GROUPS * LANES;
override BLOCK_L: u32 = COLS * LANES;

fn input(row: u32, position: i32) -> f32 {
  return select(0.0, src[rowIndex(row, position, p.lengthIn)], insideRow(position, p.lengthIn));
}

/** Where this lane's weight rows start: rows past the edge read the last row (in bounds; never stored). */
fn weightRows(m0: u32, lane: u32) -> array<u32, 4> {
  var aRow: array<u32, 4>;
  for (var g = 0u; g < ROW_GROUPS; g++) {
    aRow[g] = min(m0 + g * LANES + lane, p.rows - 1u) * p.aStepM;
  }
  return aRow;
}

/** Stores the block: acc[r·4 + j] is row m0 + r at position first + j·step; positions past the end are dropped.
 *  Every output is a NaN (quiet, payload = the actual size) if the driver's subgroup size is not LANES. */
fn storeBlock(acc: ptr<function, array<f32, 128>>, m0: u32, n: u32, first: u32, step: u32, lanes: u32) {
  let wrongSize = lanes != LANES;
  for (var r = 0u; r < BLOCK_M; r++) {
    let row = m0 + r;
    if (row >= p.rows) {
      break;
    }
    let b = select(0.0, bias[row], p.hasBias != 0u);
    let outRow = (n * p.rows + row) * p.lengthOut;
    for (var j = 0u; j < COLS; j++) {
      let l = first + j * step;
      if (l < p.lengthOut) {
        out[outRow + l] = select((*acc)[r * 4u + j] + b, bitcast<f32>(0x7fc00000u | lanes), wrongSize);
      }
    }
  }
}

@compute @workgroup_size(LANES)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(subgroup_invocation_id) lane: u32,
  @builtin(subgroup_size) lanes: u32,
) {
  let block = foldedTile(wid, nwg, (p.lengthOut + BLOCK_L - 1u) / BLOCK_L);
  let m0 = block.x * BLOCK_M;
  if (m0 >= p.rows) {
    return;
  }
  let l0 = block.y * BLOCK_L;
  let n = wid.z;
  // Positions past the edge read zeros or real inputs; their results are never stored.
  let aRow = weightRows(m0, lane);
  var origin: array<i32, 4>;
  for (var j = 0u; j < COLS; j++) {
    origin[j] = i32((l0 + j * LANES + lane) * p.stride) + p.offset;
  }

  // acc[r·4 + j]: row m0 + r, position l0 + j·LANES + lane.
  var acc: array<f32, 128>;
  for (var c = 0u; c < p.channels; c++) {
    let srcRow = (n * p.channels + c) * p.lengthIn;
    let aChannel = c * p.aStepC;
    for (var k = 0u; k < p.taps; k++) {
      let shift = i32(k) * p.tapStep;
      var bv: array<f32, 4>;
      for (var j = 0u; j < COLS; j++) {
        bv[j] = input(srcRow, origin[j] + shift);
      }
      for (var g = 0u; g < ROW_GROUPS; g++) {
        let av = a[aRow[g] + aChannel + k];
        for (var i = 0u; i < LANES; i++) {
          let ai = subgroupShuffle(av, i);
          let r = g * LANES + i;
          for (var j = 0u; j < COLS; j++) {
            acc[r * 4u + j] = fma(ai, bv[j], acc[r * 4u + j]);
          }
        }
      }
    }
  }

  storeBlock(&acc, m0, n, l0 + lane, LANES, lanes);
}

@compute @workgroup_size(LANES)
fn window(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(subgroup_invocation_id) lane: u32,
  @builtin(subgroup_size) lanes: u32,
) {
  let block = foldedTile(wid, nwg, (p.lengthOut + BLOCK_L - 1u) / BLOCK_L);
  let m0 = block.x * BLOCK_M;
  if (m0 >= p.rows) {
    return;
  }
  let l0 = block.y * BLOCK_L + lane * COLS;
  let n = wid.z;
  let aRow = weightRows(m0, lane);
  // Tap step −1 walks the window backwards: taking the taps in reverse order makes it forwards again.
  let reversed = p.tapStep < 0;
  let first = i32(l0) + p.offset - select(0, i32(TAPS) - 1, reversed);

  // acc[r·4 + j]: row m0 + r, position l0 + j.
  var acc: array<f32, 128>;
  for (var c = 0u; c < p.channels; c++) {
    let srcRow = (n * p.channels + c) * p.lengthIn;
    let aChannel = c * p.aStepC;
    var win: array<f32, 12>;
    for (var i = 0u; i < COLS + TAPS - 1u; i++) {
      win[i] = input(srcRow, first + i32(i));
    }
    for (var k = 0u; k < TAPS; k++) {
      let tap = select(k, TAPS - 1u - k, reversed);
      for (var g = 0u; g < ROW_GROUPS; g++) {
        let av = a[aRow[g] + aChannel + tap];
        for (var i = 0u; i < LANES; i++) {
          let ai = subgroupShuffle(av, i);
          let r = g * LANES + i;
          for (var j = 0u; j < COLS; j++) {
            acc[r * 4u + j] = fma(ai, win[j + k], acc[r * 4u + j]);
          }
        }
      }
    }
  }

  storeBlock(&acc, m0, n, l0, 1u, lanes);
}

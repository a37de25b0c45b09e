// GEMM for CPU drivers with subgroups (lavapipe): C[M,N] = op(A)·op(B) (+ bias[N]) (then relu), row-major
// float32, A stored [M,K] ([K,M] when transA), B stored [K,N] ([N,K] when transB). Same semantics as
// gemm.wgsl; the uniforms and bindings are gemm-common.wgsl's, which src/kernels/gemm.ts puts after the
// `enable` directive (which must come first).
//
// Why a separate kernel: a CPU driver runs the LANES invocations of a subgroup in the lanes of one SIMD
// register, and every storage or workgroup-memory load whose address differs per lane becomes a loop over the
// lanes that costs tens of cycles, while moving a value between lanes costs one. So each load here fetches
// LANES different values that all get used: a workgroup is one subgroup and owns a (ROW_GROUPS·LANES) ×
// (COLS·LANES) block of C; lane i owns columns n0 + i + LANES·j (j < COLS) of every row of the block. Per k,
// lane i loads op(A)[m0 + LANES·g + i, k] for each row group g and op(B)[k, its columns], then broadcasts each
// A value to all lanes (subgroupShuffle with a uniform lane index): ROW_GROUPS + COLS loads for
// ROW_GROUPS·LANES·COLS FMAs per lane, no barriers, no workgroup memory.
//
// The grid is the blocks, folded as gemm-params.wgsl's tileOf reads them.

// The subgroup size the host expects (the driver's SIMD width in floats); the workgroup is one subgroup.
// If the driver runs another size, the output is NaN rather than silently wrong.
override LANES: u32 = 8;
// Row groups of LANES rows per block (ROW_GROUPS <= 4, ROW_GROUPS·LANES <= 32), columns per lane (<= 4).
override ROW_GROUPS: u32 = 2;
override COLS: u32 = 4;

override BLOCK_M: u32 = ROW_GROUPS * LANES;
override BLOCK_N: u32 = COLS * LANES;

@compute @workgroup_size(LANES)
fn gemm_subgroup(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(subgroup_invocation_id) lane: u32,
  @builtin(subgroup_size) lanes: u32,
) {
  let block = tileOf(wid, nwg, BLOCK_N);
  let m0 = block.x * BLOCK_M;
  let n0 = block.y * BLOCK_N;
  if (m0 >= p.M) {
    return;
  }
  // aRow and bCol hold aRowStart and bColStart (gemm-common.wgsl) of this lane's rows and columns.
  // Rows and columns past the edge load the last one (in bounds); their results are dropped at the end.
  let aStepK = kStepA();
  let bStepK = kStepB();
  var aRow: array<u32, 4>;
  var bCol: array<u32, 4>;
  for (var g = 0u; g < ROW_GROUPS; g++) {
    let row = min(m0 + g * LANES + lane, p.M - 1u);
    aRow[g] = aRowStart(row);
  }
  for (var j = 0u; j < COLS; j++) {
    let col = min(n0 + j * LANES + lane, p.N - 1u);
    bCol[j] = bColStart(col);
  }

  // acc[r·4 + j]: row m0 + r, column n0 + j·LANES + lane.
  var acc: array<f32, 128>;
  for (var k = 0u; k < p.K; k++) {
    var bv: array<f32, 4>;
    for (var j = 0u; j < COLS; j++) {
      bv[j] = b[bCol[j] + k * bStepK];
    }
    for (var g = 0u; g < ROW_GROUPS; g++) {
      let av = a[aRow[g] + k * aStepK];
      for (var i = 0u; i < LANES; i++) {
        let ai = subgroupShuffle(av, i);
        let r = g * LANES + i;
        for (var j = 0u; j < COLS; j++) {
          acc[r * 4u + j] = fma(ai, bv[j], acc[r * 4u + j]);
        }
      }
    }
  }

  // A NaN (quiet, payload = the actual size) in every output if the subgroup size is not LANES.
  let wrongSize = lanes != LANES;
  for (var r = 0u; r < BLOCK_M; r++) {
    let row = m0 + r;
    if (row >= p.M) {
      break;
    }
    for (var j = 0u; j < COLS; j++) {
      let col = n0 + j * LANES + lane;
      if (col < p.N) {
        var x = acc[r * 4u + j];
        if (p.hasBias != 0u) {
          x += bias[col];
        }
        if (p.relu != 0u) {
          x = select(x, 0.0, x < 0.0); // not max(): a NaN stays NaN, as in torch
        }
        c[row * p.N + col] = select(x, bitcast<f32>(0x7fc00000u | lanes), wrongSize);
      }
    }
  }
}

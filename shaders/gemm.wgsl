// GEMM: C[M,N] = op(A)·op(B) (+ bias[N] broadcast over rows) (then relu), row-major float32.
// A is stored [M,K], or [K,M] when transA; B is stored [K,N], or [N,K] when transB. The flags are uniforms
// (one pipeline per tile config, which matters where pipelines compile slowly: lavapipe takes seconds); they
// cost a uniform branch outside the FMA loops.
//
// src/kernels/gemm.ts prepends shaders/gemm-common.wgsl (the uniforms and bindings) and appends
// shaders/tiled-gemm-core.wgsl, which holds the thread layout (register blocks of
// (4·ROW_VECS) × (4·COL_VECS) per thread, strided by the workgroup size) and its `storeBlock`. Two ways to feed
// the registers:
//  - gemm_tiled (the core's entry point): the workgroup stages slabs of op(A) and op(B) in workgroup memory.
//    For GPUs.
//  - gemm_direct (here): each thread reads its rows of A and columns of B straight from the storage buffers, no
//    barriers and no workgroup memory. For CPU drivers, where a barrier is a coroutine switch, caches do the
//    staging, and each load is a loop over the SIMD lanes: 16×16 blocks (ROW_VECS = COL_VECS = 4) give the
//    most FMAs per load that the compiler still keeps in registers.
//
// The grid is [ceil(N / TILE_N), rowTiles] with rowTiles folded into (y, z) past 65535 workgroups.

fn tileRow0(wid: vec3u, nwg: vec3u) -> u32 {
  return (wid.y + wid.z * nwg.y) * TILE_M;
}

fn kRange(wid: vec3u) -> vec2u {
  return vec2u(0u, p.K);
}

fn aRowsAdjacent() -> bool {
  return p.transA != 0u;
}

fn bColsAdjacent() -> bool {
  return p.transB == 0u;
}

/** op(A)[row, k], zero outside the matrix. */
fn loadA(row: u32, k: u32) -> f32 {
  if (row >= p.M || k >= p.K) {
    return 0.0;
  }
  if (p.transA != 0u) {
    return a[k * p.M + row];
  }
  return a[row * p.K + k];
}

/** op(B)[k, col], zero outside the matrix. */
fn loadB(k: u32, col: u32) -> f32 {
  if (k >= p.K || col >= p.N) {
    return 0.0;
  }
  if (p.transB != 0u) {
    return b[col * p.K + k];
  }
  return b[k * p.N + col];
}

/** Adds the bias, applies the activation and writes one element of C. */
fn store(row: u32, col: u32, value: f32, wid: vec3u) {
  var x = value;
  if (p.hasBias != 0u) {
    x += bias[col];
  }
  if (p.relu != 0u) {
    x = max(x, 0.0);
  }
  c[row * p.N + col] = x;
}

@compute @workgroup_size(WG_X, WG_Y)
fn gemm_direct(
  @builtin(local_invocation_id) lid: vec3u,
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
) {
  let row0 = tileRow0(wid, nwg);
  let col0 = wid.x * TILE_N;
  if (row0 >= p.M) {
    return;
  }
  // Rows and columns past the edge read the last one (always in bounds); storeBlock drops their results.
  // aRow and bCol hold aRowStart and bColStart (gemm-common.wgsl) of this thread's rows and columns.
  let aStepK = kStepA();
  let bStepK = kStepB();
  var aRow: array<u32, 4u * MAX_VECS>;
  var bCol: array<u32, 4u * MAX_VECS>;
  for (var i = 0u; i < ROW_VECS; i++) {
    for (var r = 0u; r < 4u; r++) {
      let row = min(row0 + 4u * (lid.y + i * WG_Y) + r, p.M - 1u);
      aRow[4u * i + r] = aRowStart(row);
    }
  }
  for (var j = 0u; j < COL_VECS; j++) {
    for (var q = 0u; q < 4u; q++) {
      let col = min(col0 + 4u * (lid.x + j * WG_X) + q, p.N - 1u);
      bCol[4u * j + q] = bColStart(col);
    }
  }
  var acc: array<vec4f, MAX_ACC>;
  for (var k = 0u; k < p.K; k++) {
    let ak = k * aStepK;
    let bk = k * bStepK;
    var bv: array<vec4f, MAX_VECS>;
    for (var j = 0u; j < COL_VECS; j++) {
      bv[j] = vec4f(b[bCol[4u * j] + bk], b[bCol[4u * j + 1u] + bk], b[bCol[4u * j + 2u] + bk], b[bCol[4u * j + 3u] + bk]);
    }
    for (var i = 0u; i < ROW_VECS; i++) {
      for (var r = 0u; r < 4u; r++) {
        let av = vec4f(a[aRow[4u * i + r] + ak]);
        for (var j = 0u; j < COL_VECS; j++) {
          let q = (4u * i + r) * 4u + j;
          acc[q] = fma(av, bv[j], acc[q]);
        }
      }
    }
  }
  storeBlock(&acc, row0, col0, lid, wid);
}

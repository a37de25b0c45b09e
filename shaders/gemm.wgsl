// GEMM: C[M,N] = op(A)·op(B) (+ bias[N] broadcast over rows) (then relu), row-major float32.
// A is stored [M,K], or [K,M] when transA; B is stored [K,N], or [N,K] when transB. The flags are uniforms
// (one pipeline per tile config, which matters where pipelines compile slowly: lavapipe takes seconds); they
// cost a uniform branch outside the FMA loops.
//
// The operands and the store of C (bounds-checked, for any sizes; products of whole tiles take the tiled
// core's aligned specialisation on shaders/gemm-aligned.wgsl instead), shared by the two kernels that feed
// register blocks from them:
//  - gemm_tiled (src/kernels/tiled-gemm-core.ts writes it out per tile configuration and src/kernels/gemm.ts
//    appends it to this file): the workgroup stages slabs of op(A) and op(B) in workgroup memory. For GPUs.
//  - gemm_direct (shaders/gemm-direct.wgsl, appended instead): each thread reads its rows of A and columns of
//    B straight from the storage buffers. For CPU drivers.
//
// The grid is the tiles, folded as gemm-params.wgsl's tileOf reads them; TILE_M and TILE_N are the appended
// kernel's.

fn tileOrigin(wid: vec3u, nwg: vec3u) -> vec2u {
  return tileOf(wid, nwg, TILE_N) * vec2u(TILE_M, TILE_N);
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
    x = select(x, 0.0, x < 0.0); // not max(): a NaN stays NaN, as in torch
  }
  c[row * p.N + col] = x;
}

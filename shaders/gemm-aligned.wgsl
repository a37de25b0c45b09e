// GEMM operands for the tiled core's aligned specialisation (src/kernels/tiled-gemm-core.ts, `AlignedOperands`):
// C[M,N] = op(A)·op(B) (+ bias[N]) (then relu) where M and N are multiples of the tile and K of the slab depth,
// so every tile is whole and every read and write is a vec4 with no bounds check. gemm-params.wgsl is
// prepended; the bindings are gemm-common.wgsl's seen as vec4s (the host binds the same buffers).
//
// The transposes are override constants: the core is written out per pair (its staging reads along the
// contiguous side), and these fold to one read each.
//
// SPLIT_K: the reduction is split over the grid's z (a product with too few tiles to fill a GPU): workgroup z
// sums k in [z·chunk, (z + 1)·chunk) and writes its partial C, raw, to c[z] (c is then [splits, M, N]);
// gemm-split.wgsl adds the partials up in a fixed order and applies the bias and activation.

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override SPLIT_K: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4f>;
@group(0) @binding(2) var<storage, read> b: array<vec4f>;
// Without a bias the host binds some other read-only buffer here; it is never read.
@group(0) @binding(3) var<storage, read> bias: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> c: array<vec4f>;

fn tileOrigin(wid: vec3u, nwg: vec3u) -> vec2u {
  if (SPLIT_K) {
    return vec2u(wid.y * TILE_M, wid.x * TILE_N); // z is the split, and the host folds no tiles
  }
  return tileOf(wid, nwg, TILE_N) * vec2u(TILE_M, TILE_N);
}

fn kRange(wid: vec3u) -> vec2u {
  if (SPLIT_K) {
    return vec2u(wid.z * p.chunk, (wid.z + 1u) * p.chunk);
  }
  return vec2u(0u, p.K);
}

/** op(A)[row..row+3, k] when A is stored [K,M] (row a multiple of 4), else op(A)[row, k..k+3] (k a multiple of 4). */
fn loadA4(row: u32, k: u32) -> vec4f {
  if (TRANS_A) {
    return a[(k * p.M + row) / 4u];
  }
  return a[(row * p.K + k) / 4u];
}

/** op(B)[k, col..col+3] when B is stored [K,N] (col a multiple of 4), else op(B)[k..k+3, col] (k a multiple of 4). */
fn loadB4(k: u32, col: u32) -> vec4f {
  if (TRANS_B) {
    return b[(col * p.K + k) / 4u];
  }
  return b[(k * p.N + col) / 4u];
}

/** Adds the bias, applies the activation and writes C[row, col..col+3] (col a multiple of 4); of a split
 * reduction, writes the partial sum as it is. */
fn store4(row: u32, col: u32, value: vec4f, wid: vec3u) {
  if (SPLIT_K) {
    c[((wid.z * p.M + row) * p.N + col) / 4u] = value;
    return;
  }
  var x = value;
  if (p.hasBias != 0u) {
    x += bias[col / 4u];
  }
  if (p.relu != 0u) {
    x = select(x, vec4f(0.0), x < vec4f(0.0)); // not max(): a NaN stays NaN, as in torch
  }
  c[(row * p.N + col) / 4u] = x;
}

// conv1d as implicit GEMMs on the workgroup-tiled core (src/kernels/conv1d-tiled.ts appends the core that
// src/kernels/tiled-gemm-core.ts writes out for the chosen tile): the im2col matrix is never stored, its
// elements are gathered while the slabs are staged. For GPUs, where staging in workgroup memory pays; the
// operand behind each GEMM side:
//
//   PASS 0 forward          y  = W · im2col(x)        M = Cout, N = batch·Lout, K = Cin·Kw   (+ bias[co])
//   PASS 1 backward input   dx = Wᵀ · gather(dy)      M = Cin,  N = batch·L,    K = Cout·Kw
//   PASS 2 backward weight  dw = dy · im2col(x)ᵀ      M = Cout, N = Cin·Kw,     K = batch·Lout
//
// with x [batch, Cin, L], w [Cout, Cin, Kw], y and dy [batch, Cout, Lout]; a column of im2col(x) is an output
// position (n, lo) and a row a (ci, k) pair: x[n, ci, lo·stride − padding + k·dilation], zero outside [0, L).
// gather(dy)[(co, k), (n, l)] = dy[n, co, lo] where lo·stride = l + padding − k·dilation, zero where no such lo.
// A pass's reduction may be split over the grid's z (always the backward weight's, over batch·Lout; the others'
// where the tuner found it faster, for layers with too few tiles to fill a GPU): workgroup z sums k in
// [z·chunk, (z + 1)·chunk) into partials[z], laid out as the result is ([chunks, ...result]; the bias goes
// into partials[0] alone), which the reduce entry of conv1d-backward-weight.wgsl adds up.
//
// Bindings: `lhs` is the buffer behind A (w, w, dy), `rhs` the one behind B (x, dy, x); without a bias the
// host binds `lhs` again at binding 3.

override PASS: u32 = 0;

// The layer's shape, as override constants: fixed for a layer, so that the staging's divisions and remainders
// (an operand element's (channel, tap) and (batch, position)) are by constants, which compile to a multiply and a
// shift, where by uniforms they were most of the staging's instructions. Only the batch (in N) and the split
// (chunk) stay uniforms.
override CIN: u32 = 1u;
override LENGTH: u32 = 1u;
override COUT: u32 = 1u;
override KW: u32 = 1u;
override LOUT: u32 = 1u;
override STRIDE: u32 = 1u;
override PADDING: u32 = 0u;
override DILATION: u32 = 1u;

// The product's size and split; the layer's shape is in the constants above, not here.
struct Params {
  M: u32,
  N: u32,
  K: u32,
  chunk: u32, // k per workgroup z (K where the reduction is not split)
  hasBias: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> lhs: array<f32>;
@group(0) @binding(2) var<storage, read> rhs: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> result: array<f32>;

fn tileRow0(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.y * TILE_M;
}

fn kRange(wid: vec3u) -> vec2u {
  return vec2u(wid.z * p.chunk, min((wid.z + 1u) * p.chunk, p.K));
}

fn aRowsAdjacent() -> bool {
  return false;
}

fn bColsAdjacent() -> bool {
  return PASS != 2u;
}

/** x[n, ci, lo·stride − padding + k·dilation], zero in the padding. */
fn im2col(n: u32, ci: u32, lo: u32, k: u32) -> f32 {
  let at = i32(lo * STRIDE + k * DILATION) - i32(PADDING);
  if (at < 0 || at >= i32(LENGTH)) {
    return 0.0;
  }
  return rhs[(n * CIN + ci) * LENGTH + u32(at)];
}

fn loadA(row: u32, k: u32) -> f32 {
  if (row >= p.M || k >= p.K) {
    return 0.0;
  }
  if (PASS == 0u) {
    return lhs[row * p.K + k]; // w[co, (ci, k)]
  }
  if (PASS == 1u) {
    return lhs[((k / KW) * CIN + row) * KW + k % KW]; // w[co, ci, tap] with k = (co, tap)
  }
  return lhs[((k / LOUT) * COUT + row) * LOUT + k % LOUT]; // dy[n, co, lo] with k = (n, lo)
}

fn loadB(k: u32, col: u32) -> f32 {
  if (k >= p.K || col >= p.N) {
    return 0.0;
  }
  if (PASS == 0u) {
    return im2col(col / LOUT, k / KW, col % LOUT, k % KW);
  }
  if (PASS == 2u) {
    return im2col(k / LOUT, col / KW, k % LOUT, col % KW);
  }
  // PASS 1: dy[n, co, lo] for lo·stride = l + padding − tap·dilation.
  let co = k / KW;
  let tap = k % KW;
  let n = col / LENGTH;
  let t = i32(col % LENGTH + PADDING) - i32(tap * DILATION);
  if (t < 0 || u32(t) % STRIDE != 0u) {
    return 0.0;
  }
  let lo = u32(t) / STRIDE;
  if (lo >= LOUT) {
    return 0.0;
  }
  return rhs[(n * COUT + co) * LOUT + lo];
}

fn store(row: u32, col: u32, value: f32, wid: vec3u) {
  let partial = wid.z * p.M * p.N; // this split's part of the result (0 where the reduction is not split)
  if (PASS == 0u) {
    let n = col / LOUT;
    var v = value;
    if (p.hasBias != 0u && wid.z == 0u) {
      v += bias[row];
    }
    result[partial + (n * COUT + row) * LOUT + col % LOUT] = v;
  } else if (PASS == 1u) {
    let n = col / LENGTH;
    result[partial + (n * CIN + row) * LENGTH + col % LENGTH] = value;
  } else {
    result[partial + row * p.N + col] = value;
  }
}

// ---- The same operands as quads, for the core's vec4 staging (its `AlignedOperands`, which
// src/kernels/conv1d-tiled.ts passes per pass as VEC4_SIDES says). The core reads vec4s without bounds checks,
// in whole tiles and slabs; these check the bounds themselves, once per quad, so that any shape can use them. A
// quad inside the operand, the sample and the unpadded input shares one index computation over its 4 elements
// (the scalar loads above compute one each: divisions, remainders and padding tests, most of a slab's staging);
// a quad across an edge falls back to the scalar loads.
//   A quads: along k (w's row, dy's positions), except the input gradient's, along its rows (w[co, ci..ci+3, tap]).
//   B quads: along its columns (output or input positions), except the weight gradient's, along k (positions).

fn loadA4(row: u32, k: u32) -> vec4f {
  if (PASS == 0u) {
    if (row < p.M && k + 3u < p.K) {
      let at = row * p.K + k; // w[co, k..k+3]
      return vec4f(lhs[at], lhs[at + 1u], lhs[at + 2u], lhs[at + 3u]);
    }
    return vec4f(loadA(row, k), loadA(row, k + 1u), loadA(row, k + 2u), loadA(row, k + 3u));
  }
  if (PASS == 1u) {
    if (row + 3u < p.M && k < p.K) {
      let at = ((k / KW) * CIN + row) * KW + k % KW; // w[co, ci..ci+3, tap] with k = (co, tap)
      return vec4f(lhs[at], lhs[at + KW], lhs[at + 2u * KW], lhs[at + 3u * KW]);
    }
    return vec4f(loadA(row, k), loadA(row + 1u, k), loadA(row + 2u, k), loadA(row + 3u, k));
  }
  let lo = k % LOUT;
  if (row < p.M && k < p.K && lo + 3u < LOUT) {
    let at = ((k / LOUT) * COUT + row) * LOUT + lo; // dy[n, co, lo..lo+3] with k = (n, lo)
    return vec4f(lhs[at], lhs[at + 1u], lhs[at + 2u], lhs[at + 3u]);
  }
  return vec4f(loadA(row, k), loadA(row, k + 1u), loadA(row, k + 2u), loadA(row, k + 3u));
}

/** Four inputs of a row, `ok` where all four lie inside it (none in the padding). */
struct Quad {
  ok: bool,
  v: vec4f,
}

/** x[n, ci, at + i·STRIDE] for i in 0..3. */
fn inputQuad(n: u32, ci: u32, at: i32) -> Quad {
  if (at < 0 || at + i32(3u * STRIDE) >= i32(LENGTH)) {
    return Quad(false, vec4f(0.0));
  }
  let i = (n * CIN + ci) * LENGTH + u32(at);
  return Quad(true, vec4f(rhs[i], rhs[i + STRIDE], rhs[i + 2u * STRIDE], rhs[i + 3u * STRIDE]));
}

fn loadB4(k: u32, col: u32) -> vec4f {
  if (PASS == 0u) {
    let lo = col % LOUT;
    if (k < p.K && col < p.N && lo + 3u < LOUT) {
      // im2col(x)[(ci, tap), (n, lo..lo+3)]
      let q = inputQuad(col / LOUT, k / KW, i32(lo * STRIDE + (k % KW) * DILATION) - i32(PADDING));
      if (q.ok) {
        return q.v;
      }
    }
    return vec4f(loadB(k, col), loadB(k, col + 1u), loadB(k, col + 2u), loadB(k, col + 3u));
  }
  if (PASS == 1u) {
    let l = col % LENGTH;
    if (STRIDE == 1u && k < p.K && col < p.N && l + 3u < LENGTH) {
      // dy[n, co, lo..lo+3] for positions l..l+3, lo = l + padding − tap·dilation (stride 1)
      let lo = i32(l + PADDING) - i32((k % KW) * DILATION);
      if (lo >= 0 && lo + 3 < i32(LOUT)) {
        let at = ((col / LENGTH) * COUT + k / KW) * LOUT + u32(lo);
        return vec4f(rhs[at], rhs[at + 1u], rhs[at + 2u], rhs[at + 3u]);
      }
    }
    return vec4f(loadB(k, col), loadB(k, col + 1u), loadB(k, col + 2u), loadB(k, col + 3u));
  }
  let lo = k % LOUT;
  if (col < p.N && k < p.K && lo + 3u < LOUT) {
    // im2col(x)[(ci, tap), (n, lo..lo+3)] read along k = (n, lo)
    let q = inputQuad(k / LOUT, col / KW, i32(lo * STRIDE + (col % KW) * DILATION) - i32(PADDING));
    if (q.ok) {
      return q.v;
    }
  }
  return vec4f(loadB(k, col), loadB(k + 1u, col), loadB(k + 2u, col), loadB(k + 3u, col));
}

/** C[row, col..col+3] through `store` where the quad crosses the end of a sample's row or of C. */
fn store4(row: u32, col: u32, v: vec4f, wid: vec3u) {
  if (row >= p.M || col >= p.N) {
    return;
  }
  let partial = wid.z * p.M * p.N;
  var at = 0u;
  var whole = false;
  var b = 0.0;
  if (PASS == 0u) {
    let lo = col % LOUT;
    whole = lo + 3u < LOUT;
    at = partial + ((col / LOUT) * COUT + row) * LOUT + lo;
    if (p.hasBias != 0u && wid.z == 0u) {
      b = bias[row];
    }
  } else if (PASS == 1u) {
    let l = col % LENGTH;
    whole = l + 3u < LENGTH;
    at = partial + ((col / LENGTH) * CIN + row) * LENGTH + l;
  } else {
    whole = col + 3u < p.N;
    at = partial + row * p.N + col;
  }
  if (whole) {
    result[at] = v.x + b;
    result[at + 1u] = v.y + b;
    result[at + 2u] = v.z + b;
    result[at + 3u] = v.w + b;
    return;
  }
  for (var i = 0u; i < 4u && col + i < p.N; i++) {
    store(row, col + i, v[i], wid);
  }
}

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
// src/kernels/conv1d-tiled.ts passes per pass as VEC4_SIDES says). The core reads quads without bounds checks, in
// whole tiles and slabs; these check the bounds themselves, per element and without branches, so that any shape
// can use them. A quad's divisions and remainders (an element's channel and tap, sample and position) are
// computed once for its 4 elements, where the scalar loads above compute them for each (most of a slab's
// staging): the next element's position follows from the last one's, wrapping into the next sample's row.
//   A quads: along k (w's rows, dy's positions), except the input gradient's, along its rows (w[co, ci..ci+3, tap]).
//   B quads: along the columns (output or input positions), except the weight gradient's, along k (positions).

/** The position after `at` = (sample, position) in rows of `length`: the next in the row, or the next row's first. */
fn nextPosition(at: vec2u, length: u32) -> vec2u {
  return select(vec2u(at.x, at.y + 1u), vec2u(at.x + 1u, 0u), at.y + 1u == length);
}

/** x[n, ci, lo·stride − padding + tap·dilation] at (n, lo) = `at`; zero in the padding and where not `valid`. */
fn inputAt(at: vec2u, ci: u32, tap: u32, valid: bool) -> f32 {
  let position = i32(at.y * STRIDE + tap * DILATION) - i32(PADDING);
  return select(0.0, rhs[rowIndex((at.x * CIN + ci) * LENGTH, position, LENGTH)], valid && insideRow(position, LENGTH));
}

/** dy[n, co, lo] for the input position (n, l) = `at`, where lo·stride = l + padding − tap·dilation; zero where
 * no such lo exists and where not `valid`. */
fn gatheredGradientAt(at: vec2u, co: u32, tap: u32, valid: bool) -> f32 {
  let t = i32(at.y + PADDING) - i32(tap * DILATION);
  let lo = t / i32(STRIDE);
  let exists = t >= 0 && t % i32(STRIDE) == 0 && lo < i32(LOUT);
  return select(0.0, rhs[rowIndex((at.x * COUT + co) * LOUT, lo, LOUT)], valid && exists);
}

fn loadA4(row: u32, k: u32) -> vec4f {
  if (PASS == 0u) {
    // w[co, k..k+3]
    let at = row * p.K + k;
    let inside = row < p.M;
    return vec4f(
      select(0.0, lhs[at], inside && k < p.K),
      select(0.0, lhs[at + 1u], inside && k + 1u < p.K),
      select(0.0, lhs[at + 2u], inside && k + 2u < p.K),
      select(0.0, lhs[at + 3u], inside && k + 3u < p.K),
    );
  }
  if (PASS == 1u) {
    // w[co, ci..ci+3, tap] with k = (co, tap)
    let at = ((k / KW) * CIN + row) * KW + k % KW;
    let inside = k < p.K;
    return vec4f(
      select(0.0, lhs[at], inside && row < p.M),
      select(0.0, lhs[at + KW], inside && row + 1u < p.M),
      select(0.0, lhs[at + 2u * KW], inside && row + 2u < p.M),
      select(0.0, lhs[at + 3u * KW], inside && row + 3u < p.M),
    );
  }
  // dy[n, co, lo] at k = (n, lo) and the next 3
  let at0 = vec2u(k / LOUT, k % LOUT);
  let at1 = nextPosition(at0, LOUT);
  let at2 = nextPosition(at1, LOUT);
  let at3 = nextPosition(at2, LOUT);
  let inside = row < p.M;
  return vec4f(
    select(0.0, lhs[(at0.x * COUT + row) * LOUT + at0.y], inside && k < p.K),
    select(0.0, lhs[(at1.x * COUT + row) * LOUT + at1.y], inside && k + 1u < p.K),
    select(0.0, lhs[(at2.x * COUT + row) * LOUT + at2.y], inside && k + 2u < p.K),
    select(0.0, lhs[(at3.x * COUT + row) * LOUT + at3.y], inside && k + 3u < p.K),
  );
}

fn loadB4(k: u32, col: u32) -> vec4f {
  if (PASS == 0u) {
    // im2col(x)[(ci, tap), (n, lo)] at col = (n, lo) and the next 3
    let at0 = vec2u(col / LOUT, col % LOUT);
    let at1 = nextPosition(at0, LOUT);
    let at2 = nextPosition(at1, LOUT);
    let at3 = nextPosition(at2, LOUT);
    let inside = k < p.K;
    return vec4f(
      inputAt(at0, k / KW, k % KW, inside && col < p.N),
      inputAt(at1, k / KW, k % KW, inside && col + 1u < p.N),
      inputAt(at2, k / KW, k % KW, inside && col + 2u < p.N),
      inputAt(at3, k / KW, k % KW, inside && col + 3u < p.N),
    );
  }
  if (PASS == 1u) {
    // gather(dy)[(co, tap), (n, l)] at col = (n, l) and the next 3
    let at0 = vec2u(col / LENGTH, col % LENGTH);
    let at1 = nextPosition(at0, LENGTH);
    let at2 = nextPosition(at1, LENGTH);
    let at3 = nextPosition(at2, LENGTH);
    let inside = k < p.K;
    return vec4f(
      gatheredGradientAt(at0, k / KW, k % KW, inside && col < p.N),
      gatheredGradientAt(at1, k / KW, k % KW, inside && col + 1u < p.N),
      gatheredGradientAt(at2, k / KW, k % KW, inside && col + 2u < p.N),
      gatheredGradientAt(at3, k / KW, k % KW, inside && col + 3u < p.N),
    );
  }
  // im2col(x)[(ci, tap), (n, lo)] at k = (n, lo) and the next 3
  let at0 = vec2u(k / LOUT, k % LOUT);
  let at1 = nextPosition(at0, LOUT);
  let at2 = nextPosition(at1, LOUT);
  let at3 = nextPosition(at2, LOUT);
  let inside = col < p.N;
  return vec4f(
    inputAt(at0, col / KW, col % KW, inside && k < p.K),
    inputAt(at1, col / KW, col % KW, inside && k + 1u < p.K),
    inputAt(at2, col / KW, col % KW, inside && k + 2u < p.K),
    inputAt(at3, col / KW, col % KW, inside && k + 3u < p.K),
  );
}

/** C[row, col..col+3], each element where C has it. */
fn store4(row: u32, col: u32, v: vec4f, wid: vec3u) {
  if (row >= p.M) {
    return;
  }
  let partial = wid.z * p.M * p.N; // this split's part of the result (0 where the reduction is not split)
  if (PASS == 2u) {
    // dw[co, (ci, tap)]
    let at = partial + row * p.N + col;
    if (col < p.N) { result[at] = v.x; }
    if (col + 1u < p.N) { result[at + 1u] = v.y; }
    if (col + 2u < p.N) { result[at + 2u] = v.z; }
    if (col + 3u < p.N) { result[at + 3u] = v.w; }
    return;
  }
  // y[n, co, lo] (forward, plus the bias) or dx[n, ci, l] (input gradient) at col = (n, position) and the next 3
  let length = select(LENGTH, LOUT, PASS == 0u);
  let channels = select(CIN, COUT, PASS == 0u);
  var b = 0.0;
  if (PASS == 0u && p.hasBias != 0u && wid.z == 0u) {
    b = bias[row];
  }
  let at0 = vec2u(col / length, col % length);
  let at1 = nextPosition(at0, length);
  let at2 = nextPosition(at1, length);
  let at3 = nextPosition(at2, length);
  if (col < p.N) { result[partial + (at0.x * channels + row) * length + at0.y] = v.x + b; }
  if (col + 1u < p.N) { result[partial + (at1.x * channels + row) * length + at1.y] = v.y + b; }
  if (col + 2u < p.N) { result[partial + (at2.x * channels + row) * length + at2.y] = v.z + b; }
  if (col + 3u < p.N) { result[partial + (at3.x * channels + row) * length + at3.y] = v.w + b; }
}

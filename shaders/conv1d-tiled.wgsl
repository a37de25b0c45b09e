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
// The forward's w stored transposed, [Cin·Kw, Cout] (the tuning candidates named `transposed`): A[row, k] at
// k·Cout + row, whose quads run along the rows.
override W_TRANSPOSED: bool = false;

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

// The tiles as tile-grid.wgsl reads them (a forward of batch·Lout over 2M has more column tiles of 32 than 65535);
// z is the chunk.
fn tileOrigin(wid: vec3u, nwg: vec3u) -> vec2u {
  return foldedTile(wid, nwg, (p.N + TILE_N - 1u) / TILE_N) * vec2u(TILE_M, TILE_N);
}

fn kRange(wid: vec3u) -> vec2u {
  return vec2u(wid.z * p.chunk, min((wid.z + 1u) * p.chunk, p.K));
}

fn aRowsAdjacent() -> bool {
  return PASS == 0u && W_TRANSPOSED;
}

fn bColsAdjacent() -> bool {
  return PASS != 2u;
}

// The scalar loads (the core's scalar staging) read through the quad loads' element helpers below.
fn loadA(row: u32, k: u32) -> f32 {
  let valid = row < p.M && k < p.K;
  if (PASS == 0u) {
    return select(0.0, lhs[select(row * p.K + k, k * p.M + row, W_TRANSPOSED)], valid); // w[co, (ci, k)]
  }
  if (PASS == 1u) {
    return select(0.0, lhs[((k / KW) * CIN + row) * KW + k % KW], valid); // w[co, ci, tap] with k = (co, tap)
  }
  return outputGradientAt(vec2u(k / LOUT, k % LOUT), row, valid); // dy[n, co, lo] with k = (n, lo)
}

fn loadB(k: u32, col: u32) -> f32 {
  let valid = k < p.K && col < p.N;
  if (PASS == 2u) {
    return inputAt(vec2u(k / LOUT, k % LOUT), col / KW, col % KW, valid); // im2col(x) with k = (n, lo)
  }
  let length = columnRowLength();
  return columnB(vec2u(col / length, col % length), k, valid);
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

// ---- The same operands as quads, for the core's aligned staging (its `AlignedOperands`, which
// src/kernels/conv1d-tiled.ts passes per pass as QUAD_SIDES says). The core reads quads without bounds checks, in
// whole tiles and slabs; these check the bounds themselves, per element and without branches, so that any shape
// can use them. A quad's divisions and remainders (an element's channel and tap, sample and position) are
// computed once for its 4 elements, where the scalar loads above compute them for each (most of a slab's
// staging): the next element's position follows from the last one's, wrapping into the next sample's row.
//   A quads: along k (w's rows, dy's positions), except the input gradient's, along its rows (w[co, ci..ci+3, tap]).
//   B quads: along the columns (output or input positions), except the weight gradient's, along k (positions).

/** (sample, position) of 4 consecutive elements of rows of `length`. */
struct Positions {
  p0: vec2u,
  p1: vec2u,
  p2: vec2u,
  p3: vec2u,
}

/** The position after `at` = (sample, position) in rows of `length`: the next in the row, or the next row's first. */
fn nextPosition(at: vec2u, length: u32) -> vec2u {
  return select(vec2u(at.x, at.y + 1u), vec2u(at.x + 1u, 0u), at.y + 1u == length);
}

/** Element `first` of rows of `length` and the next 3: one division, each next position stepped from the last. */
fn quadPositions(first: u32, length: u32) -> Positions {
  let p0 = vec2u(first / length, first % length);
  let p1 = nextPosition(p0, length);
  let p2 = nextPosition(p1, length);
  let p3 = nextPosition(p2, length);
  return Positions(p0, p1, p2, p3);
}

/** Which of `first` and the next 3 are under `end`. */
fn under(first: u32, end: u32) -> vec4<bool> {
  return vec4<bool>(first < end, first + 1u < end, first + 2u < end, first + 3u < end);
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

/** dy[n, co, lo] at (n, lo) = `at` (the weight gradient's A); zero where not `valid`. */
fn outputGradientAt(at: vec2u, co: u32, valid: bool) -> f32 {
  return select(0.0, lhs[(at.x * COUT + co) * LOUT + at.y], valid);
}

fn loadA4(row: u32, k: u32) -> vec4f {
  if (PASS == 0u && W_TRANSPOSED) {
    // w[co..co+3, k] from wᵀ [Cin·Kw, Cout]
    let at = k * p.M + row;
    let ok = under(row, p.M) & vec4<bool>(k < p.K);
    return vec4f(select(0.0, lhs[at], ok.x), select(0.0, lhs[at + 1u], ok.y), select(0.0, lhs[at + 2u], ok.z), select(0.0, lhs[at + 3u], ok.w));
  }
  if (PASS == 0u) {
    // w[co, k..k+3]
    let at = row * p.K + k;
    let ok = under(k, p.K) & vec4<bool>(row < p.M);
    return vec4f(select(0.0, lhs[at], ok.x), select(0.0, lhs[at + 1u], ok.y), select(0.0, lhs[at + 2u], ok.z), select(0.0, lhs[at + 3u], ok.w));
  }
  if (PASS == 1u) {
    // w[co, ci..ci+3, tap] with k = (co, tap)
    let at = ((k / KW) * CIN + row) * KW + k % KW;
    let ok = under(row, p.M) & vec4<bool>(k < p.K);
    return vec4f(select(0.0, lhs[at], ok.x), select(0.0, lhs[at + KW], ok.y), select(0.0, lhs[at + 2u * KW], ok.z), select(0.0, lhs[at + 3u * KW], ok.w));
  }
  // dy[n, co, lo] at k = (n, lo) and the next 3
  let at = quadPositions(k, LOUT);
  let ok = under(k, p.K) & vec4<bool>(row < p.M);
  return vec4f(outputGradientAt(at.p0, row, ok.x), outputGradientAt(at.p1, row, ok.y), outputGradientAt(at.p2, row, ok.z), outputGradientAt(at.p3, row, ok.w));
}

/** The length of the rows that C's columns run along in the forward and the input gradient: positions of one
 * sample, output ones (Lout) or input ones (L). */
fn columnRowLength() -> u32 {
  return select(LENGTH, LOUT, PASS == 0u);
}

/** B[(channel, tap), (n, position)] of the forward (im2col(x)) or the input gradient (gather(dy)) at `at`. */
fn columnB(at: vec2u, k: u32, valid: bool) -> f32 {
  if (PASS == 0u) {
    return inputAt(at, k / KW, k % KW, valid);
  }
  return gatheredGradientAt(at, k / KW, k % KW, valid);
}

fn loadB4(k: u32, col: u32) -> vec4f {
  if (PASS != 2u) {
    // B at col = (n, position) and the next 3
    let at = quadPositions(col, columnRowLength());
    let ok = under(col, p.N) & vec4<bool>(k < p.K);
    return vec4f(columnB(at.p0, k, ok.x), columnB(at.p1, k, ok.y), columnB(at.p2, k, ok.z), columnB(at.p3, k, ok.w));
  }
  // im2col(x)[(ci, tap), (n, lo)] at k = (n, lo) and the next 3
  let at = quadPositions(k, LOUT);
  let ok = under(k, p.K) & vec4<bool>(col < p.N);
  let ci = col / KW;
  let tap = col % KW;
  return vec4f(inputAt(at.p0, ci, tap, ok.x), inputAt(at.p1, ci, tap, ok.y), inputAt(at.p2, ci, tap, ok.z), inputAt(at.p3, ci, tap, ok.w));
}

/** C[row, col..col+3], each element where C has it. */
fn store4(row: u32, col: u32, v: vec4f, wid: vec3u) {
  if (row >= p.M) {
    return;
  }
  let partial = wid.z * p.M * p.N; // this split's part of the result (0 where the reduction is not split)
  let ok = under(col, p.N);
  if (PASS == 2u) {
    // dw[co, (ci, tap)]
    let at = partial + row * p.N + col;
    if (ok.x) { result[at] = v.x; }
    if (ok.y) { result[at + 1u] = v.y; }
    if (ok.z) { result[at + 2u] = v.z; }
    if (ok.w) { result[at + 3u] = v.w; }
    return;
  }
  // y[n, co, lo] (forward, plus the bias) or dx[n, ci, l] (input gradient) at col = (n, position) and the next 3
  let length = columnRowLength();
  let channels = select(CIN, COUT, PASS == 0u);
  var b = 0.0;
  if (PASS == 0u && p.hasBias != 0u && wid.z == 0u) {
    b = bias[row];
  }
  let at = quadPositions(col, length);
  if (ok.x) { result[partial + (at.p0.x * channels + row) * length + at.p0.y] = v.x + b; }
  if (ok.y) { result[partial + (at.p1.x * channels + row) * length + at.p1.y] = v.y + b; }
  if (ok.z) { result[partial + (at.p2.x * channels + row) * length + at.p2.y] = v.z + b; }
  if (ok.w) { result[partial + (at.p3.x * channels + row) * length + at.p3.y] = v.w + b; }
}

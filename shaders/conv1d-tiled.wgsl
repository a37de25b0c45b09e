// conv1d as implicit GEMMs on the workgroup-tiled core (src/kernels/conv1d.ts appends the core that
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
// The backward weight's reduction over batch·Lout is split: workgroup z sums positions [z·chunk, (z + 1)·chunk)
// into partials[z] ([chunks, Cout, Cin·Kw]), which the reduce entry of conv1d-backward-weight.wgsl adds up.
//
// Bindings: `lhs` is the buffer behind A (w, w, dy), `rhs` the one behind B (x, dy, x); without a bias the
// host binds `lhs` again at binding 3.

override PASS: u32 = 0;

struct Params {
  shape: Shape,
  M: u32,
  N: u32,
  K: u32,
  chunk: u32, // PASS 2: positions per workgroup z
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
  if (PASS == 2u) {
    return vec2u(wid.z * p.chunk, min((wid.z + 1u) * p.chunk, p.K));
  }
  return vec2u(0u, p.K);
}

fn aRowsAdjacent() -> bool {
  return false;
}

fn bColsAdjacent() -> bool {
  return PASS != 2u;
}

/** x[n, ci, lo·stride − padding + k·dilation], zero in the padding. */
fn im2col(n: u32, ci: u32, lo: u32, k: u32) -> f32 {
  let at = i32(lo * p.shape.stride + k * p.shape.dilation) - i32(p.shape.padding);
  if (at < 0 || at >= i32(p.shape.length)) {
    return 0.0;
  }
  return rhs[(n * p.shape.cin + ci) * p.shape.length + u32(at)];
}

fn loadA(row: u32, k: u32) -> f32 {
  if (row >= p.M || k >= p.K) {
    return 0.0;
  }
  if (PASS == 0u) {
    return lhs[row * p.K + k]; // w[co, (ci, k)]
  }
  if (PASS == 1u) {
    return lhs[((k / p.shape.kernel) * p.shape.cin + row) * p.shape.kernel + k % p.shape.kernel]; // w[co, ci, tap] with k = (co, tap)
  }
  return lhs[((k / p.shape.lout) * p.shape.cout + row) * p.shape.lout + k % p.shape.lout]; // dy[n, co, lo] with k = (n, lo)
}

fn loadB(k: u32, col: u32) -> f32 {
  if (k >= p.K || col >= p.N) {
    return 0.0;
  }
  if (PASS == 0u) {
    return im2col(col / p.shape.lout, k / p.shape.kernel, col % p.shape.lout, k % p.shape.kernel);
  }
  if (PASS == 2u) {
    return im2col(k / p.shape.lout, col / p.shape.kernel, k % p.shape.lout, col % p.shape.kernel);
  }
  // PASS 1: dy[n, co, lo] for lo·stride = l + padding − tap·dilation.
  let co = k / p.shape.kernel;
  let tap = k % p.shape.kernel;
  let n = col / p.shape.length;
  let t = i32(col % p.shape.length + p.shape.padding) - i32(tap * p.shape.dilation);
  if (t < 0 || u32(t) % p.shape.stride != 0u) {
    return 0.0;
  }
  let lo = u32(t) / p.shape.stride;
  if (lo >= p.shape.lout) {
    return 0.0;
  }
  return rhs[(n * p.shape.cout + co) * p.shape.lout + lo];
}

fn store(row: u32, col: u32, value: f32, wid: vec3u) {
  if (PASS == 0u) {
    let n = col / p.shape.lout;
    var v = value;
    if (p.hasBias != 0u) {
      v += bias[row];
    }
    result[(n * p.shape.cout + row) * p.shape.lout + col % p.shape.lout] = v;
  } else if (PASS == 1u) {
    let n = col / p.shape.length;
    result[(n * p.shape.cin + row) * p.shape.length + col % p.shape.length] = value;
  } else {
    result[(wid.z * p.M + row) * p.N + col] = value;
  }
}

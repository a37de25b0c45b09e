// GEMM: C[M,N] = op(A)·op(B) (+ bias[N] broadcast over rows) (then relu), row-major float32.
// A is stored [M,K], or [K,M] when transA; B is stored [K,N], or [N,K] when transB. The flags are uniforms
// (one pipeline per tile config, which matters where pipelines compile slowly: lavapipe takes seconds); they
// cost a uniform branch outside the FMA loops.
//
// Thread layout, shared by both entry points: a workgroup of WG_X × WG_Y threads owns a TILE_M × TILE_N block
// of C, and each thread a (4·ROW_VECS) × (4·COL_VECS) register block made of 4×4 pieces strided by the
// workgroup size: thread (x, y) owns rows 4·(y + i·WG_Y) + 0..3 and columns 4·(x + j·WG_X) + 0..3 of the
// block. Strided pieces make neighbouring threads read neighbouring vec4s of the shared tiles (no bank
// conflicts) and write neighbouring 16-byte chunks of C.
//
// Two ways to feed the registers:
//  - gemm_tiled: the workgroup stages TILE_K-deep slabs of op(A) and op(B) in workgroup memory (k-major,
//    so each k step is ROW_VECS + COL_VECS vec4 reads for 16·ROW_VECS·COL_VECS vec4 FMAs), reading the next
//    slabs from global memory into registers while it multiplies the current ones. For GPUs.
//  - gemm_direct: each thread reads its rows of A and columns of B straight from the storage buffers, no
//    barriers and no workgroup memory. For CPU drivers, where a barrier is a coroutine switch, caches do the
//    staging, and each load is a loop over the SIMD lanes: 16×16 blocks (ROW_VECS = COL_VECS = 4) give the
//    most FMAs per load that the compiler still keeps in registers.
//
// The grid is [ceil(N / TILE_N), rowTiles] with rowTiles folded into (y, z) past 65535 workgroups.

struct Params {
  M: u32,
  N: u32,
  K: u32,
  // Booleans, 0 or 1.
  transA: u32,
  transB: u32,
  hasBias: u32,
  relu: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
// Without a bias the host binds some other read-only buffer here; it is never read.
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

override WG_X: u32 = 16;
override WG_Y: u32 = 16;
// vec4 pieces per thread along M and along N (1 to 4): register blocks from 4×4 to 16×16.
override ROW_VECS: u32 = 2;
override COL_VECS: u32 = 2;
// Depth of the staged slabs (gemm_tiled only).
override TILE_K: u32 = 8;

override TILE_M: u32 = 4u * ROW_VECS * WG_Y;
override TILE_N: u32 = 4u * COL_VECS * WG_X;
// Rows of the staged slabs, in vec4s, padded by one vec4 so that staging the transposed operand
// (consecutive threads walking k) spreads its writes over the banks.
override SLAB_A_ROW: u32 = TILE_M / 4u + 1u;
override SLAB_B_ROW: u32 = TILE_N / 4u + 1u;
override SLAB_A_LEN: u32 = TILE_K * SLAB_A_ROW;
override SLAB_B_LEN: u32 = TILE_K * SLAB_B_ROW;

// op(A) and op(B) slabs, k-major: slabA[k·SLAB_A_ROW + m/4][m%4] = op(A)[row0 + m, k0 + k].
var<workgroup> slabA: array<vec4f, SLAB_A_LEN>;
var<workgroup> slabB: array<vec4f, SLAB_B_LEN>;

// The accumulators of one thread: acc[(4·i + r)·4 + j] holds row 4·(y + i·WG_Y) + r, columns of piece j.
const MAX_VECS = 4u;
const MAX_ACC = 64u;

fn tileRow0(wid: vec3u, nwg: vec3u) -> u32 {
  return (wid.y + wid.z * nwg.y) * TILE_M;
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

/** Adds the bias, applies the activation and writes the thread's block (clipped to the matrix). */
fn storeBlock(acc: ptr<function, array<vec4f, MAX_ACC>>, row0: u32, col0: u32, lid: vec3u) {
  for (var i = 0u; i < ROW_VECS; i++) {
    for (var r = 0u; r < 4u; r++) {
      let row = row0 + 4u * (lid.y + i * WG_Y) + r;
      if (row >= p.M) {
        return;
      }
      for (var j = 0u; j < COL_VECS; j++) {
        let col = col0 + 4u * (lid.x + j * WG_X);
        var v = (*acc)[(4u * i + r) * 4u + j];
        for (var q = 0u; q < 4u; q++) {
          if (col + q < p.N) {
            var x = v[q];
            if (p.hasBias != 0u) {
              x += bias[col + q];
            }
            if (p.relu != 0u) {
              x = max(x, 0.0);
            }
            c[row * p.N + col + q] = x;
          }
        }
      }
    }
  }
}

// Slab elements each thread stages per k step (at most MAX_STAGED): consecutive threads take consecutive
// elements of the stored layout's contiguous dimension, so the global reads coalesce whichever the transposition.
override THREADS: u32 = WG_X * WG_Y;
override STAGED_A: u32 = (TILE_K * TILE_M + THREADS - 1u) / THREADS;
override STAGED_B: u32 = (TILE_K * TILE_N + THREADS - 1u) / THREADS;
const MAX_STAGED = 8u;

/** Position (m, k) in the A slab of the l-th staged element. */
fn slabPosA(l: u32) -> vec2u {
  if (p.transA != 0u) {
    return vec2u(l % TILE_M, l / TILE_M);
  }
  return vec2u(l / TILE_K, l % TILE_K);
}

/** Position (n, k) in the B slab of the l-th staged element. */
fn slabPosB(l: u32) -> vec2u {
  if (p.transB != 0u) {
    return vec2u(l / TILE_K, l % TILE_K);
  }
  return vec2u(l % TILE_N, l / TILE_N);
}

@compute @workgroup_size(WG_X, WG_Y)
fn gemm_tiled(
  @builtin(local_invocation_id) lid: vec3u,
  @builtin(local_invocation_index) li: u32,
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
) {
  let row0 = tileRow0(wid, nwg);
  let col0 = wid.x * TILE_N;
  if (row0 >= p.M) {
    return; // a workgroup of the folded grid's last row past the end: uniform across the workgroup
  }
  // The next slabs' elements are read into registers while the current slabs are multiplied, so the global
  // loads' latency hides behind the FMAs (one workgroup-memory buffer, two barriers per k step).
  var nextA: array<f32, MAX_STAGED>;
  var nextB: array<f32, MAX_STAGED>;
  for (var t = 0u; t < STAGED_A; t++) {
    let pos = slabPosA(li + t * THREADS);
    nextA[t] = loadA(row0 + pos.x, pos.y);
  }
  for (var t = 0u; t < STAGED_B; t++) {
    let pos = slabPosB(li + t * THREADS);
    nextB[t] = loadB(pos.y, col0 + pos.x);
  }
  var acc: array<vec4f, MAX_ACC>;
  for (var k0 = 0u; k0 < p.K; k0 += TILE_K) {
    for (var t = 0u; t < STAGED_A; t++) {
      let l = li + t * THREADS;
      if (l < TILE_K * TILE_M) {
        let pos = slabPosA(l);
        slabA[pos.y * SLAB_A_ROW + pos.x / 4u][pos.x % 4u] = nextA[t];
      }
    }
    for (var t = 0u; t < STAGED_B; t++) {
      let l = li + t * THREADS;
      if (l < TILE_K * TILE_N) {
        let pos = slabPosB(l);
        slabB[pos.y * SLAB_B_ROW + pos.x / 4u][pos.x % 4u] = nextB[t];
      }
    }
    workgroupBarrier();
    let k1 = k0 + TILE_K;
    if (k1 < p.K) {
      for (var t = 0u; t < STAGED_A; t++) {
        let pos = slabPosA(li + t * THREADS);
        nextA[t] = loadA(row0 + pos.x, k1 + pos.y);
      }
      for (var t = 0u; t < STAGED_B; t++) {
        let pos = slabPosB(li + t * THREADS);
        nextB[t] = loadB(k1 + pos.y, col0 + pos.x);
      }
    }
    for (var k = 0u; k < TILE_K; k++) {
      var av: array<vec4f, MAX_VECS>;
      var bv: array<vec4f, MAX_VECS>;
      for (var i = 0u; i < ROW_VECS; i++) {
        av[i] = slabA[k * SLAB_A_ROW + lid.y + i * WG_Y];
      }
      for (var j = 0u; j < COL_VECS; j++) {
        bv[j] = slabB[k * SLAB_B_ROW + lid.x + j * WG_X];
      }
      for (var i = 0u; i < ROW_VECS; i++) {
        for (var r = 0u; r < 4u; r++) {
          for (var j = 0u; j < COL_VECS; j++) {
            let q = (4u * i + r) * 4u + j;
            acc[q] = fma(vec4f(av[i][r]), bv[j], acc[q]);
          }
        }
      }
    }
    workgroupBarrier();
  }
  storeBlock(&acc, row0, col0, lid);
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
  // Element (row, k) of op(A) is a[aRow[..] + k·aStepK], element (k, col) of op(B) is b[bCol[..] + k·bStepK].
  let transA = p.transA != 0u;
  let transB = p.transB != 0u;
  let aStepK = select(1u, p.M, transA);
  let bStepK = select(p.N, 1u, transB);
  var aRow: array<u32, 4u * MAX_VECS>;
  var bCol: array<u32, 4u * MAX_VECS>;
  for (var i = 0u; i < ROW_VECS; i++) {
    for (var r = 0u; r < 4u; r++) {
      let row = min(row0 + 4u * (lid.y + i * WG_Y) + r, p.M - 1u);
      aRow[4u * i + r] = select(row * p.K, row, transA);
    }
  }
  for (var j = 0u; j < COL_VECS; j++) {
    for (var q = 0u; q < 4u; q++) {
      let col = min(col0 + 4u * (lid.x + j * WG_X) + q, p.N - 1u);
      bCol[4u * j + q] = select(col, col * p.K, transB);
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
  storeBlock(&acc, row0, col0, lid);
}

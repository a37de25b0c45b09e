// The workgroup-tiled GEMM core, for GPUs: C[M,N] = Σ_k A[row,k]·B[k,col] over a k range, where A, B and the
// store of C are functions that the including shader defines. shaders/gemm.wgsl makes it a plain matrix product;
// shaders/conv1d-tiled.wgsl makes it the three passes of a 1-D convolution as implicit GEMMs (im2col gathered
// on the fly). WGSL has no includes: the TypeScript module of each family appends this file to its shader.
//
// The including shader defines:
//   Params p with fields M, N (the size of C; rows and columns past it are neither loaded nor stored)
//   fn tileRow0(wid: vec3u, nwg: vec3u) -> u32    first row of the workgroup's tile
//   fn kRange(wid: vec3u) -> vec2u                 [begin, end) of the reduction this workgroup sums
//   fn loadA(row: u32, k: u32) -> f32              zero outside A
//   fn loadB(k: u32, col: u32) -> f32              zero outside B
//   fn aRowsAdjacent() -> bool                     A[row + 1, k] follows A[row, k] in memory (else A[row, k + 1] does)
//   fn bColsAdjacent() -> bool                     B[k, col + 1] follows B[k, col] in memory (else B[k + 1, col] does)
//   fn store(row: u32, col: u32, value: f32, wid: vec3u)
//
// Thread layout: a workgroup of WG_X × WG_Y threads owns a TILE_M × TILE_N block of C, and each thread a
// (4·ROW_VECS) × (4·COL_VECS) register block made of 4×4 pieces strided by the workgroup size: thread (x, y)
// owns rows 4·(y + i·WG_Y) + 0..3 and columns 4·(x + j·WG_X) + 0..3 of the block. Strided pieces make
// neighbouring threads read neighbouring vec4s of the staged slabs (no bank conflicts).
//
// The workgroup stages TILE_K-deep slabs of A and B in workgroup memory (k-major, so each k step is ROW_VECS +
// COL_VECS vec4 reads for 16·ROW_VECS·COL_VECS vec4 FMAs), reading the next slabs from global memory into
// registers while it multiplies the current ones.

override WG_X: u32 = 16;
override WG_Y: u32 = 16;
// vec4 pieces per thread along M and along N (1 to 4): register blocks from 4×4 to 16×16.
override ROW_VECS: u32 = 2;
override COL_VECS: u32 = 2;
// Depth of the staged slabs.
override TILE_K: u32 = 8;

override TILE_M: u32 = 4u * ROW_VECS * WG_Y;
override TILE_N: u32 = 4u * COL_VECS * WG_X;
// Rows of the staged slabs, in vec4s, padded by one vec4 so that staging a k-contiguous operand
// (consecutive threads walking k) spreads its writes over the banks.
override SLAB_A_ROW: u32 = TILE_M / 4u + 1u;
override SLAB_B_ROW: u32 = TILE_N / 4u + 1u;
override SLAB_A_LEN: u32 = TILE_K * SLAB_A_ROW;
override SLAB_B_LEN: u32 = TILE_K * SLAB_B_ROW;

// A and B slabs, k-major: slabA[k·SLAB_A_ROW + m/4][m%4] = A[row0 + m, k0 + k].
var<workgroup> slabA: array<vec4f, SLAB_A_LEN>;
var<workgroup> slabB: array<vec4f, SLAB_B_LEN>;

// The accumulators of one thread: acc[(4·i + r)·4 + j] holds row 4·(y + i·WG_Y) + r, columns of piece j.
const MAX_VECS = 4u;
const MAX_ACC = 64u;

/** Writes the thread's block through `store`, clipped to C. */
fn storeBlock(acc: ptr<function, array<vec4f, MAX_ACC>>, row0: u32, col0: u32, lid: vec3u, wid: vec3u) {
  for (var i = 0u; i < ROW_VECS; i++) {
    for (var r = 0u; r < 4u; r++) {
      let row = row0 + 4u * (lid.y + i * WG_Y) + r;
      if (row >= p.M) {
        return;
      }
      for (var j = 0u; j < COL_VECS; j++) {
        let col = col0 + 4u * (lid.x + j * WG_X);
        let v = (*acc)[(4u * i + r) * 4u + j];
        for (var q = 0u; q < 4u; q++) {
          if (col + q < p.N) {
            store(row, col + q, v[q], wid);
          }
        }
      }
    }
  }
}

// Slab elements each thread stages per k step (at most MAX_STAGED): consecutive threads take elements that
// are adjacent in memory, so the global reads coalesce whichever way the operand is laid out.
override THREADS: u32 = WG_X * WG_Y;
override STAGED_A: u32 = (TILE_K * TILE_M + THREADS - 1u) / THREADS;
override STAGED_B: u32 = (TILE_K * TILE_N + THREADS - 1u) / THREADS;
const MAX_STAGED = 8u;

/** Position (m, k) in the A slab of the l-th staged element. */
fn slabPosA(l: u32) -> vec2u {
  if (aRowsAdjacent()) {
    return vec2u(l % TILE_M, l / TILE_M);
  }
  return vec2u(l / TILE_K, l % TILE_K);
}

/** Position (n, k) in the B slab of the l-th staged element. */
fn slabPosB(l: u32) -> vec2u {
  if (bColsAdjacent()) {
    return vec2u(l % TILE_N, l / TILE_N);
  }
  return vec2u(l / TILE_K, l % TILE_K);
}

/** A[row, k], zero past the workgroup's k range (a split reduction must not count its neighbour's share). */
fn stagedA(row: u32, k: u32, kEnd: u32) -> f32 {
  if (k >= kEnd) {
    return 0.0;
  }
  return loadA(row, k);
}

fn stagedB(k: u32, col: u32, kEnd: u32) -> f32 {
  if (k >= kEnd) {
    return 0.0;
  }
  return loadB(k, col);
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
    return; // a workgroup of a folded grid's last row past the end: uniform across the workgroup
  }
  let ks = kRange(wid);
  // The next slabs' elements are read into registers while the current slabs are multiplied, so the global
  // loads' latency hides behind the FMAs (one workgroup-memory buffer, two barriers per k step).
  var nextA: array<f32, MAX_STAGED>;
  var nextB: array<f32, MAX_STAGED>;
  for (var t = 0u; t < STAGED_A; t++) {
    let pos = slabPosA(li + t * THREADS);
    nextA[t] = stagedA(row0 + pos.x, ks.x + pos.y, ks.y);
  }
  for (var t = 0u; t < STAGED_B; t++) {
    let pos = slabPosB(li + t * THREADS);
    nextB[t] = stagedB(ks.x + pos.y, col0 + pos.x, ks.y);
  }
  var acc: array<vec4f, MAX_ACC>;
  for (var k0 = ks.x; k0 < ks.y; k0 += TILE_K) {
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
    if (k1 < ks.y) {
      for (var t = 0u; t < STAGED_A; t++) {
        let pos = slabPosA(li + t * THREADS);
        nextA[t] = stagedA(row0 + pos.x, k1 + pos.y, ks.y);
      }
      for (var t = 0u; t < STAGED_B; t++) {
        let pos = slabPosB(li + t * THREADS);
        nextB[t] = stagedB(k1 + pos.y, col0 + pos.x, ks.y);
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
  storeBlock(&acc, row0, col0, lid, wid);
}

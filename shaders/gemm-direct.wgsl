// The direct GEMM kernel (src/kernels/gemm.ts appends it to shaders/gemm-common.wgsl and shaders/gemm.wgsl,
// which define the operands and the store): each thread reads its rows of A and columns of B straight from the
// storage buffers into a register block, no barriers and no workgroup memory. For CPU drivers, where a
// barrier is a coroutine switch, caches do the staging, and each load is a loop over the SIMD lanes: 16×16
// blocks (ROW_VECS = COL_VECS = 4) give the most FMAs per load that the compiler still keeps in registers.
//
// Thread layout: a workgroup of WG_X × WG_Y threads owns a TILE_M × TILE_N block of C, and each thread a
// (4·ROW_VECS) × (4·COL_VECS) register block made of 4×4 pieces strided by the workgroup size: thread (x, y)
// owns rows 4·(y + i·WG_Y) + 0..3 and columns 4·(x + j·WG_X) + 0..3 of the block.

override WG_X: u32 = 16;
override WG_Y: u32 = 16;
// vec4 pieces per thread along M and along N (1 to 4): register blocks from 4×4 to 16×16.
override ROW_VECS: u32 = 2;
override COL_VECS: u32 = 2;
override TILE_M: u32 = 4u * ROW_VECS * WG_Y;
override TILE_N: u32 = 4u * COL_VECS * WG_X;
// The accumulators of one thread: acc[(4·i + r)·4 + j] holds row 4·(y + i·WG_Y) + r, columns of piece j. A
// private array of the largest block, indexed in override-bounded loops: fine on the CPU drivers this kernel
// is for (GPU compilers may put it in local memory, which is why the tiled core is written out per block).
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

@compute @workgroup_size(WG_X, WG_Y)
fn gemm_direct(
  @builtin(local_invocation_id) lid: vec3u,
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
) {
  let origin = tileOrigin(wid, nwg);
  let row0 = origin.x;
  let col0 = origin.y;
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

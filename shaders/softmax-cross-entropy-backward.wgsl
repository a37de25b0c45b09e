// Backward of shaders/softmax-cross-entropy.wgsl: with probs [rows, cols] = softmax(logits), targets [rows] (int32),
// the scalar upstream gradient dloss [1] and optional class weights w [cols],
//   d logits[r, j] = dloss[0] · w[t_r]·(probs[r, j] − (j == t_r)) / Σ_r w[t_r]   (w ≡ 1: Σ w = rows).
//   sumOfWeights:                one workgroup writes weightSum[0] = Σ_r w[t_r] (weighted, up to a few hundred rows).
//   rowWeights:                  a thread per row (grid1d fold) writes w[t_r], for more rows: the host sums them with
//                                the elementwise sumTo (a tree of short sums: src/kernels/softmax.ts says why).
//   gradient, gradientWeighted:  flat over rows·cols; workgroup g (grid1d fold) covers [g·WG·ITEMS, +WG·ITEMS),
//                                thread t takes i = g·WG·ITEMS + t + k·WG; (row, col) is divided out once per
//                                thread and carried along (a step of WG moves row by stepRow, col by stepCol).

override ITEMS: u32 = 16;

// Bindings of `gradient` and `gradientWeighted` (only the latter reads weights and weightSum).
@group(0) @binding(1) var<storage, read> probs: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read> dloss: array<f32>;
@group(0) @binding(4) var<storage, read_write> dlogits: array<f32>;
@group(0) @binding(5) var<storage, read> weights: array<f32>;
@group(0) @binding(6) var<storage, read> weightSum: array<f32>;

// Bindings of `sumOfWeights` and `rowWeights` (entry points that never run together may share binding numbers).
@group(0) @binding(1) var<storage, read> sumTargets: array<i32>;
@group(0) @binding(2) var<storage, read> sumWeights: array<f32>;
@group(0) @binding(3) var<storage, read_write> weightSumOut: array<f32>;
@group(0) @binding(3) var<storage, read_write> weightOfRow: array<f32>;

@compute @workgroup_size(WG)
fn sumOfWeights(@builtin(local_invocation_index) t: u32) {
  var acc = 0.0;
  for (var r = t; r < p.rows; r += WG) {
    acc += sumWeights[u32(sumTargets[r])];
  }
  let total = workgroupSum(t, acc);
  if (t == 0u) {
    weightSumOut[0] = total;
  }
}

@compute @workgroup_size(WG)
fn rowWeights(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r < p.rows) {
    weightOfRow[r] = sumWeights[u32(sumTargets[r])];
  }
}

/** A thread's position in the flat walk: element i = row·cols + col. */
struct Cursor {
  i: u32,
  row: u32,
  col: u32,
}

fn firstElement(t: u32, wg: vec3u, nwg: vec3u) -> Cursor {
  let i = (wg.x + wg.y * nwg.x) * WG * ITEMS + t;
  let row = i / p.cols;
  return Cursor(i, row, i - row * p.cols);
}

fn nextElement(c: Cursor) -> Cursor {
  var next = Cursor(c.i + WG, c.row + p.stepRow, c.col + p.stepCol);
  if (next.col >= p.cols) {
    next.col -= p.cols;
    next.row += 1u;
  }
  return next;
}

@compute @workgroup_size(WG)
fn gradient(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let total = p.rows * p.cols;
  let scale = dloss[0] / f32(p.rows);
  var e = firstElement(t, wg, nwg);
  for (var k = 0u; k < ITEMS && e.i < total; k++) {
    let targetClass = u32(targets[e.row]);
    dlogits[e.i] = scale * (probs[e.i] - select(0.0, 1.0, e.col == targetClass));
    e = nextElement(e);
  }
}

@compute @workgroup_size(WG)
fn gradientWeighted(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let total = p.rows * p.cols;
  let scale = dloss[0] / weightSum[0];
  var e = firstElement(t, wg, nwg);
  for (var k = 0u; k < ITEMS && e.i < total; k++) {
    let targetClass = u32(targets[e.row]);
    dlogits[e.i] = scale * weights[targetClass] * (probs[e.i] - select(0.0, 1.0, e.col == targetClass));
    e = nextElement(e);
  }
}

// The batch-norm reductions' shared part: their uniforms and the chunk walk of `partial`, used by
// normalization-stats.wgsl and normalization-backward.wgsl (src/kernels/normalization.ts prepends this file to
// each: WGSL has no includes). x and dy are [N, C, L]; channel c has the M = N·L elements j = n·L + l.
// `partial` workgroup (k, c) walks chunk k of channel c coalesced: thread t takes j = start + t, + WG, ...;
// channels beyond 65535 fold into workgroup_id.z (c = wg.y + wg.z·nwg.y).

struct Params {
  N: u32,
  C: u32,
  L: u32,
  chunk: u32,  // channel elements per `partial` workgroup (a multiple of WG)
  chunks: u32, // partials per channel
  stepN: u32,  // WG / L: walking j by WG moves n by stepN and l by stepL (plus a carry)
  stepL: u32,  // WG % L
  eps: f32,    // backward, and stats with APPLY (y)
  // Stats with RUNNING only, the running averages' update (host-computed as torch's, momentum m):
  // running_mean ← keep·running_mean + rateMean·mean, running_var ← keep·running_var + rateVar·variance.
  keep: f32,     // 1 − m
  rateMean: f32, // m
  rateVar: f32,  // m·M/(M − 1): the running variance is the unbiased one
}

@group(0) @binding(0) var<uniform> p: Params;

/** The channel of a `partial` workgroup. */
fn walkChannel(wg: vec3u, nwg: vec3u) -> u32 {
  return wg.y + wg.z * nwg.y;
}

/** Where a thread of `partial` is in its chunk: element j (up to end) at sample n, position l. */
struct Walk {
  j: u32,
  end: u32,
  n: u32,
  l: u32,
}

fn walkStart(t: u32, chunkIndex: u32) -> Walk {
  let start = chunkIndex * p.chunk;
  let j = start + t;
  let n = j / p.L;
  return Walk(j, min(start + p.chunk, p.N * p.L), n, j - n * p.L);
}

/** x's index of the walk's element in channel c. */
fn walkIndex(w: Walk, c: u32) -> u32 {
  return (w.n * p.C + c) * p.L + w.l;
}

/** The thread's next element, WG further: n and l carried along without a division. */
fn walkNext(w: Walk) -> Walk {
  var v = Walk(w.j + WG, w.end, w.n + p.stepN, w.l + p.stepL);
  if (v.l >= p.L) {
    v.l -= p.L;
    v.n += 1u;
  }
  return v;
}

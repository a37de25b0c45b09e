// sumTo: sums x down to a broadcast shape. The caller collapses the problem (drops size-1 dims, merges
// neighbours that are both kept or both reduced) to at most 3 kept dims k0..k2 and 3 reduced dims r0..r2,
// innermost first, each with its element stride in x. Output o (row-major over the kept dims) is
//   out[o] = Σ_{e2 < r2, e1 < r1, e0 < r0} x[base(o) + e0·rs0 + e1·rs1 + e2·rs2],
// and with r the linear index of (e0, e1, e2) over the reduced dims, out[o] = Σ_r x[base(o) + offset(r)].
//
// Each output's reduction is split into S = `shares` partial sums, written as partials [o, s] (or [s, o]
// when `outputFastest`), so that neighbouring invocations read neighbouring addresses: s fastest when the
// reduced dim is innermost, o fastest when the kept dim is. Share s walks segment ⌊s / lanes⌋ of the reduction
// (segments of `segment` indices), starting at its (s mod lanes)-th index and stepping by `lanes`:
//   - o fastest: lanes = 1, each share a contiguous segment (neighbours walk neighbouring outputs);
//   - s fastest, S ≤ WG: lanes = S, one segment, the shares interleaved (neighbours walk neighbouring r);
//   - s fastest, S > WG: lanes = WG, S/WG segments, one per workgroup, so each workgroup streams one
//     contiguous stretch of memory.
// With S = 1 the partials are the outputs; else a second dispatch sums the partials the same way: a tree of
// fan-in at most a few hundred, which keeps float32 rounding small even for tens of millions of values, and
// keeps many invocations busy when there are few outputs. No workgroup memory and no barriers: on lavapipe a
// workgroup tree (one workgroup per output, barriers between its levels) was 30× slower.
// `sumVec4` reads x as vec4s (the caller divides r0 and every stride by 4 when the reduced dim is innermost,
// contiguous and a multiple of 4).
//
// Stepping r by `lanes` through its mixed-radix (r0, r1, r2) digits is an add with carry (the caller passes
// the digits step0..step2 of lanes), so the loop needs no division. Invocations are numbered
// gid.x + gid.y · nwg.x · WG.

override WG: u32 = 256;

struct Params {
  outputs: u32,
  shares: u32,
  length: u32,
  outputFastest: u32,
  lanes: u32,
  segment: u32,
  k0: u32, k1: u32, k2: u32,
  ks0: u32, ks1: u32, ks2: u32,
  r0: u32, r1: u32, r2: u32,
  rs0: u32, rs1: u32, rs2: u32,
  step0: u32, step1: u32, step2: u32,
  // Multiplies the sums (a mean's 1/count): 1 on every level but the last.
  scale: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> x4: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

// Offset in x of output o's first element.
fn outputBase(o: u32) -> u32 {
  let q0 = o / params.k0;
  let q1 = q0 / params.k1;
  return (o - q0 * params.k0) * params.ks0 + (q0 - q1 * params.k1) * params.ks1 + q1 * params.ks2;
}

// Digits (e0, e1, e2) of reduction index r.
fn digits(r: u32) -> vec3u {
  let q0 = r / params.r0;
  let q1 = q0 / params.r1;
  return vec3u(r - q0 * params.r0, q0 - q1 * params.r1, q1);
}

fn reducedOffset(e: vec3u) -> u32 {
  return e.x * params.rs0 + e.y * params.rs1 + e.z * params.rs2;
}

// e + lanes in the mixed radix (r0, r1, r2); each digit of lanes is below its radix, so one carry suffices.
fn stepDigits(e: vec3u) -> vec3u {
  var d0 = e.x + params.step0;
  var d1 = e.y + params.step1;
  if (d0 >= params.r0) {
    d0 -= params.r0;
    d1 += 1u;
  }
  var d2 = e.z + params.step2;
  if (d1 >= params.r1) {
    d1 -= params.r1;
    d2 += 1u;
  }
  return vec3u(d0, d1, d2);
}

// This invocation's output, its first reduction index, the end of its segment, and its partial's index.
struct Job {
  output: u32,
  start: u32,
  end: u32,
  index: u32,
}

fn job(gid: vec3u, nwg: vec3u) -> Job {
  let j = gid.x + gid.y * nwg.x * WG;
  var o: u32;
  var s: u32;
  if (params.outputFastest != 0u) {
    s = j / params.outputs;
    o = j - s * params.outputs;
  } else {
    o = j / params.shares;
    s = j - o * params.shares;
  }
  let segment = s / params.lanes;
  let segmentStart = segment * params.segment;
  let end = min(segmentStart + params.segment, params.length);
  return Job(o, segmentStart + (s - segment * params.lanes), end, j);
}

@compute @workgroup_size(WG)
fn sum(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j = job(gid, nwg);
  if (j.index >= params.outputs * params.shares) {
    return;
  }
  let base = outputBase(j.output);
  var total = 0.0;
  var e = digits(j.start);
  for (var r = j.start; r < j.end; r += params.lanes) {
    total += x[base + reducedOffset(e)];
    e = stepDigits(e);
  }
  out[j.index] = params.scale * total;
}

@compute @workgroup_size(WG)
fn sumVec4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j = job(gid, nwg);
  if (j.index >= params.outputs * params.shares) {
    return;
  }
  let base = outputBase(j.output);
  var total = vec4f(0.0);
  var e = digits(j.start);
  for (var r = j.start; r < j.end; r += params.lanes) {
    total += x4[base + reducedOffset(e)];
    e = stepDigits(e);
  }
  out[j.index] = params.scale * ((total.x + total.y) + (total.z + total.w));
}

// The log energy of complex values stored as a real block then an imaginary block: z [outer, 2, inner] (the
// filter bank's conv1d output [N, 2F, T] is [N, 2, F·T] in memory) → out [outer, inner],
//   out = log(re² + im² + floor),
// and its backward, dz_re = 2·re·g/e and dz_im = 2·im·g/e with e = re² + im² + floor recomputed from z.
// A thread per output element (numbered across grid1d's 2-D fold): it reads re and im `inner` apart, and
// backward writes both of their gradients, so each pass is one dispatch and no element is written twice.
// The arithmetic is the composed ops' (square, add, + floor, log and their derivatives), so the values match.

struct Params {
  outputs: u32, // outer·inner
  inner: u32,
  floor: f32,
}

override WG: u32 = 64;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read_write> result: array<f32>; // out forward, dz backward
@group(0) @binding(3) var<storage, read> g: array<f32>; // backward only: the gradient of out

fn outputIndex(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

/** Index of output i's real part in z; its imaginary part is inner further. */
fn realIndex(i: u32) -> u32 {
  let b = i / params.inner;
  return i + b * params.inner;
}

fn energy(re: f32, im: f32) -> f32 {
  return (re * re + im * im) + params.floor;
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = outputIndex(gid, nwg);
  if (i >= params.outputs) {
    return;
  }
  let r = realIndex(i);
  result[i] = log(energy(z[r], z[r + params.inner]));
}

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = outputIndex(gid, nwg);
  if (i >= params.outputs) {
    return;
  }
  let r = realIndex(i);
  let re = z[r];
  let im = z[r + params.inner];
  let ge = g[i] / energy(re, im); // d log(e)/de
  result[r] = ge * 2.0 * re;
  result[r + params.inner] = ge * 2.0 * im;
}

// Shared by the pooling shaders (pool1d-avg.wgsl and pool1d-max.wgsl; src/kernels/pool1d.ts prepends it):
// the parameters, the override constants that specialise them, and the window geometry.

struct Params {
  L: u32,
  Lout: u32,
  segments: u32, // backward: segments per row, ceil((L + padding)/stride)
  items: u32, // forward: rows·Lout outputs; backward: rows·segments segments
  kernelSize: i32,
  stride: i32,
  padding: i32,
  windowsPerPosition: i32, // ceil(kernelSize/stride): how many windows can contain one position
}

override WORKGROUP_SIZE: u32 = 64u;
override ITEMS_PER_THREAD: u32 = 2u;
// SPECIALIZED pipelines take the pooling parameters from these constants instead of the uniform, so the
// window loops unroll and the divisions are by constants (worth ~1.3× on lavapipe); kernels/pool1d.ts
// specialises the model's hot configuration only, to keep pipeline compilations few.
override SPECIALIZED: bool = false;
override KERNEL_SIZE: i32 = 1;
override STRIDE: i32 = 1;
override PADDING: i32 = 0;

@group(0) @binding(0) var<uniform> params: Params;

fn kernelSize() -> i32 { return select(params.kernelSize, KERNEL_SIZE, SPECIALIZED); }
fn stride() -> i32 { return select(params.stride, STRIDE, SPECIALIZED); }
fn padding() -> i32 { return select(params.padding, PADDING, SPECIALIZED); }
fn windowsPerPosition() -> i32 {
  return select(params.windowsPerPosition, (KERNEL_SIZE + STRIDE - 1) / STRIDE, SPECIALIZED);
}

fn threadIndex(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
}

fn inRow(t: i32) -> bool {
  return t >= 0 && t < i32(params.L);
}

// Whether position t of a window is an input rather than padding (without padding, floor mode keeps every
// window inside the row).
fn isInput(t: i32) -> bool {
  return padding() == 0 || inRow(t);
}

// Whether v is a NaN, from its bits (a comparison v != v may be folded away by a compiler assuming no NaN).
fn isNan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

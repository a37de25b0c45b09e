// The random masks' shared pieces (dropout.wgsl, span-mask.wgsl): src/kernels/optim.ts prepends this file to
// each (WGSL has no includes). Both are flat elementwise kernels drawing from an integer hash, so that the CPU
// reference (src/kernels/cpu/optim.ts, hash32) gives the same masks bit for bit.
// Workgroup g (g = wg.x + wg.y·nwg.x, the grid1d fold) covers elements [g·WG·ITEMS, +WG·ITEMS); thread t takes
// i = g·WG·ITEMS + t + k·WG for k < ITEMS.

override WG: u32 = 64;
override ITEMS: u32 = 16;

fn firstIndex(t: u32, wg: vec3u, nwg: vec3u) -> u32 {
  return (wg.x + wg.y * nwg.x) * WG * ITEMS + t;
}

/** lowbias32 (Chris Wellons): a well-mixed bijection of u32. */
fn hash(x0: u32) -> u32 {
  var x = x0;
  x ^= x >> 16u;
  x *= 0x7feb352du;
  x ^= x >> 15u;
  x *= 0x846ca68bu;
  x ^= x >> 16u;
  return x;
}

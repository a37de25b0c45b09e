// The GEMM family's uniforms, shared by gemm-common.wgsl (the scalar bindings) and gemm-aligned.wgsl (the vec4
// ones): src/kernels/gemm.ts prepends this file to each (WGSL has no includes), so the host writes one layout.

struct Params {
  M: u32,
  N: u32,
  K: u32,
  // Booleans, 0 or 1.
  transA: u32,
  transB: u32,
  hasBias: u32,
  relu: u32,
  // Of a split reduction (gemm-aligned.wgsl with SPLIT_K): the k range each workgroup z sums; else K.
  chunk: u32,
}


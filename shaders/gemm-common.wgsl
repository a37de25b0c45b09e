// The GEMM family's bindings and operand walk, shared by gemm.wgsl and gemm-subgroup.wgsl
// (src/kernels/gemm.ts prepends gemm-params.wgsl and this file to each: WGSL has no includes).
// C[M,N] = op(A)·op(B) (+ bias[N]) (then relu).

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
// Without a bias the host binds some other read-only buffer here; it is never read.
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

// How the direct and subgroup kernels walk op(A) and op(B): element (row, k) of op(A) is
// a[aRowStart(row) + k·kStepA()], element (k, col) of op(B) is b[bColStart(col) + k·kStepB()].
fn aRowStart(row: u32) -> u32 {
  return select(row * p.K, row, p.transA != 0u);
}
fn bColStart(col: u32) -> u32 {
  return select(col, col * p.K, p.transB != 0u);
}
fn kStepA() -> u32 {
  return select(1u, p.M, p.transA != 0u);
}
fn kStepB() -> u32 {
  return select(p.N, 1u, p.transB != 0u);
}

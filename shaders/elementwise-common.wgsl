// The elementwise family's operation selector, shared by elementwise-map.wgsl (unary and binary maps) and
// elementwise-broadcast.wgsl (broadcasting binary ops): src/kernels/elementwise.ts prepends this file to them
// (WGSL has no includes). OP is an override constant, so each op is its own specialised pipeline.
// Unary codes (elementwise-map.wgsl's unaryOp and unaryGrad): the ops' order in the CPU reference's table (UNARY
// in src/kernels/cpu/elementwise.ts). Binary codes: 0 add, 1 sub, 2 mul, 3 div.
override OP: u32 = 0;

fn binaryOp(u: vec4f, v: vec4f) -> vec4f {
  switch OP {
    case 0u: { return u + v; }
    case 1u: { return u - v; }
    case 2u: { return u * v; }
    default: { return u / v; }
  }
}

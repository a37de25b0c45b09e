// The conv1d family's shape and zero-padded reads, shared by every conv1d shader: src/kernels/conv1d.ts,
// conv1d-tiled.ts and conv1d-partials.ts prepend this file to each (WGSL has no includes), after the subgroup
// kernels' `enable` directive.
// Layout: x [N, Cin, L], w [Cout, Cin, K], y and dy [N, Cout, Lout]; output position lo reads input position
// lo·stride − padding + k·dilation. Every conv1d uniform but the subgroup correlation's and the tiled passes'
// (whose shape is in override constants) starts with a Shape.

struct Shape {
  cin: u32,
  length: u32,
  cout: u32,
  kernel: u32,
  lout: u32,
  stride: u32,
  padding: u32,
  dilation: u32,
}

// A read at `position` of a row of `length` values that is zero outside the row (the padding):
// select(0.0, buffer[rowIndex(row, position, length)], insideRow(position, length)). The index is clamped into
// the row, so that the read stays in bounds whether or not it counts.
fn insideRow(position: i32, length: u32) -> bool {
  return position >= 0 && position < i32(length);
}

fn rowIndex(row: u32, position: i32, length: u32) -> u32 {
  return row + u32(clamp(position, 0, i32(length) - 1));
}

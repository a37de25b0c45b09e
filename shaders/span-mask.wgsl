// Span masks (SpecAugment's frequency and time masks) over x [N, C, L], one pass (src/kernels/optim.ts):
//   mask[n, c, l] = 0 where c lies in one of example n's `masks` band spans or l in one of its `masks` frame
//   spans, else 1.
// Span j of kind k (0: bands, of extent C and widths up to maxBands; 1: frames, extent L, up to maxFrames) of
// example n: h = hash(hash(n·8 + k·4 + j) ^ key), key = hash(seed ^ 0x85ebca6b); width = min(h mod (max + 1),
// extent), start = hash(h) mod (extent − width + 1). Integer arithmetic only, so the CPU reference
// (src/kernels/cpu/optim.ts) gives the same mask bit for bit. WG, ITEMS, firstIndex and hash (lowbias32):
// optim-common.wgsl.

struct SpanMaskParams {
  n: u32, // N·C·L
  channels: u32,
  frames: u32,
  seed: u32,
  maxBands: u32,
  maxFrames: u32,
  masks: u32, // spans of each kind per example, at most 4
  _pad: u32,
}

@group(0) @binding(0) var<uniform> spans: SpanMaskParams;
@group(0) @binding(1) var<storage, read_write> spanMask: array<f32>;

/** Whether `at` lies in span j of kind k of example `row`. */
fn inSpan(row: u32, k: u32, j: u32, at: u32, extent: u32, maxWidth: u32, key: u32) -> bool {
  let h = hash(hash(row * 8u + k * 4u + j) ^ key);
  let width = min(h % (maxWidth + 1u), extent);
  let start = hash(h) % (extent - width + 1u);
  return at >= start && at < start + width;
}

@compute @workgroup_size(WG)
fn spanMaskForward(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let key = hash(spans.seed ^ 0x85ebca6bu);
  var i = firstIndex(t, wg, nwg);
  for (var k = 0u; k < ITEMS && i < spans.n; k++) {
    let frame = i % spans.frames;
    let band = (i / spans.frames) % spans.channels;
    let row = i / (spans.frames * spans.channels);
    var keep = true;
    for (var j = 0u; j < spans.masks; j++) {
      keep = keep && !inSpan(row, 0u, j, band, spans.channels, spans.maxBands, key) && !inSpan(row, 1u, j, frame, spans.frames, spans.maxFrames, key);
    }
    spanMask[i] = select(0.0, 1.0, keep);
    i += WG;
  }
}

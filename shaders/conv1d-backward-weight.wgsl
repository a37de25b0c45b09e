// conv1d backward with respect to the weight, a GEMM of Cout × (Cin·K) reduced over N·Lout:
//   dw[co, ci, k] = Σ_n Σ_lo dy[n, co, lo] · x[n, ci, lo·stride − padding + k·dilation]   (x zero outside [0, L))
// dy [N, Cout, Lout], x [N, Cin, L], dw [Cout, Cin, K].
//
// The N·Lout reduction is cut into chunks (a range of lo inside one sample, or whole samples, samplesPerChunk of
// them, where a chunk per sample would make partials past the device's binding limit: a big weight at a big
// batch); `partial` computes every chunk's sum into partials [chunks, Cout, Cin·K] and `reduce` adds them up in a
// fixed order (deterministic, no float atomics). With a single chunk `partial` writes dw directly.
//
// In `partial` one invocation keeps a tile of 4·TILE_CO4 output channels × TILE_CI input channels × TILE_K taps in
// registers. With g = gcd(stride, dilation), tapPhases = stride/g, spacing = dilation/g: the taps of a tile are
// one phase apart (k_j = b + tapPhases·(a0 + j)) and the reduction walks lo = residue + spacing·m, so that the
// input of (m + 1, tap j) is the input of (m, tap j + 1): per step one new x load per input channel (a sliding
// window) and 4·TILE_CO4 dy loads, for 4·TILE_CO4·TILE_CI·TILE_K FMAs. Accumulators are vec4 over output channels.
// Only the phases that hold a tap get tiles, phases = min(tapPhases, K): past K taps (a stride longer than the
// kernel) the others are empty, and tiles for each had made a stride of 2^27 overflow the tile count. Tiles are
// numbered linearly over the workgroups (x, y), folded as grid1d folds threads past 65535: t = coTile·colTiles +
// colTile, colTile = (ciBlock·phases + b)·tapBlocks + tapBlock; workgroup z is the chunk.

override WG: u32 = 64;
override TILE_CO4: u32 = 2; // output channels per invocation / 4, at most 4
override TILE_CI: u32 = 4; // input channels per invocation
override TILE_K: u32 = 3; // taps per invocation; TILE_CI·TILE_K at most 32

struct Params {
  shape: Shape,
  tapPhases: u32, // stride / g
  spacing: u32, // dilation / g
  step: u32, // lcm(stride, dilation): input distance between neighbouring window slots
  chunkLength: u32, // positions lo per chunk
  chunksPerSample: u32,
  tapBlocks: u32, // ceil(ceil(K / tapPhases) / TILE_K)
  colTiles: u32, // ceil(Cin / TILE_CI) · phases · tapBlocks
  coTiles: u32, // ceil(Cout / (4·TILE_CO4))
  samplesPerChunk: u32, // 1 unless chunksPerSample is 1
  samples: u32, // N
  phases: u32, // min(tapPhases, K): the phases that hold a tap
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;

fn input(row: u32, position: i32) -> f32 {
  return select(0.0, x[rowIndex(row, position, params.shape.length)], insideRow(position, params.shape.length));
}

@compute @workgroup_size(WG)
fn partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = (wid.x + nwg.x * wid.y) * WG + lid.x;
  if (t >= params.colTiles * params.coTiles) {
    return;
  }
  let chunk = wid.z;
  let firstSample = chunk / params.chunksPerSample * params.samplesPerChunk;
  let loStart = (chunk % params.chunksPerSample) * params.chunkLength;
  let loEnd = min(loStart + params.chunkLength, params.shape.lout);
  let coBase = (t / params.colTiles) * 4u * TILE_CO4;
  let colTile = t % params.colTiles;
  let tapBlock = colTile % params.tapBlocks;
  let b = (colTile / params.tapBlocks) % params.phases;
  let ciBase = colTile / (params.tapBlocks * params.phases) * TILE_CI;
  let k0 = b + params.tapPhases * tapBlock * TILE_K; // first tap of the tile
  let step = i32(params.step);

  // acc[(c·TILE_K + j)·TILE_CO4 + i4][e]: output channel coBase + 4·i4 + e, input channel ciBase + c, tap k0 + tapPhases·j.
  var acc: array<vec4<f32>, 128>;
  for (var n = firstSample; n < min(firstSample + params.samplesPerChunk, params.samples); n++) {
    // Channels past Cout or Cin (partial last tiles) read the last valid one and are never stored.
    var dyRow: array<u32, 16>;
    for (var i = 0u; i < 4u * TILE_CO4; i++) {
      dyRow[i] = (n * params.shape.cout + min(coBase + i, params.shape.cout - 1u)) * params.shape.lout;
    }
    var xRow: array<u32, 32>;
    for (var c = 0u; c < TILE_CI; c++) {
      xRow[c] = (n * params.shape.cin + min(ciBase + c, params.shape.cin - 1u)) * params.shape.length;
    }

    // window[c·TILE_K + j]: the input of tap j for input channel c at the current position; slot TILE_K the next one in.
    var window: array<f32, 33>;
    for (var residue = 0u; residue < params.spacing; residue++) {
      // Positions lo = first + spacing·m of this chunk with lo ≡ residue (mod spacing).
      let first = loStart + (residue + params.spacing - loStart % params.spacing) % params.spacing;
      if (first >= loEnd) {
        continue;
      }
      let origin = i32(first * params.shape.stride + k0 * params.shape.dilation) - i32(params.shape.padding);
      for (var c = 0u; c < TILE_CI; c++) {
        for (var j = 0u; j < TILE_K; j++) {
          window[c * TILE_K + j] = input(xRow[c], origin + step * i32(j));
        }
      }
      var m = 0u;
      for (var lo = first; lo < loEnd; lo += params.spacing) {
        var g: array<vec4<f32>, 4>;
        for (var i4 = 0u; i4 < TILE_CO4; i4++) {
          g[i4] = vec4<f32>(dy[dyRow[4u * i4] + lo], dy[dyRow[4u * i4 + 1u] + lo], dy[dyRow[4u * i4 + 2u] + lo], dy[dyRow[4u * i4 + 3u] + lo]);
        }
        for (var c = 0u; c < TILE_CI; c++) {
          for (var j = 0u; j < TILE_K; j++) {
            let xv = vec4<f32>(window[c * TILE_K + j]);
            for (var i4 = 0u; i4 < TILE_CO4; i4++) {
              acc[(c * TILE_K + j) * TILE_CO4 + i4] = fma(g[i4], xv, acc[(c * TILE_K + j) * TILE_CO4 + i4]);
            }
          }
        }
        // Slide left by one slot: the last tap takes the input one step further on.
        m++;
        for (var c = 0u; c < TILE_CI; c++) {
          let fresh = input(xRow[c], origin + step * i32(TILE_K + m - 1u));
          for (var j = 0u; j + 1u < TILE_K; j++) {
            window[c * TILE_K + j] = window[c * TILE_K + j + 1u];
          }
          window[c * TILE_K + TILE_K - 1u] = fresh;
        }
      }
    }
  }

  let result = acc;
  let columns = params.shape.cin * params.shape.kernel;
  let out = chunk * params.shape.cout * columns;
  for (var c = 0u; c < min(TILE_CI, params.shape.cin - ciBase); c++) {
    for (var j = 0u; j < TILE_K; j++) {
      let k = k0 + params.tapPhases * j;
      if (k >= params.shape.kernel) {
        break;
      }
      for (var i = 0u; i < min(4u * TILE_CO4, params.shape.cout - coBase); i++) {
        partials[out + (coBase + i) * columns + (ciBase + c) * params.shape.kernel + k] = result[(c * TILE_K + j) * TILE_CO4 + i / 4u][i % 4u];
      }
    }
  }
}

struct ReduceParams {
  count: u32, // Cout·Cin·K
  chunks: u32,
  rowWidth: u32, // threads per row of the 2-D grid (grid1d's fold)
}

@group(0) @binding(0) var<uniform> reduceParams: ReduceParams;
@group(0) @binding(1) var<storage, read> chunkSums: array<f32>;
@group(0) @binding(2) var<storage, read_write> dw: array<f32>;

@compute @workgroup_size(WG)
fn reduce(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * reduceParams.rowWidth;
  if (i >= reduceParams.count) {
    return;
  }
  var sum = 0.0;
  for (var c = 0u; c < reduceParams.chunks; c++) {
    sum += chunkSums[i + c * reduceParams.count];
  }
  dw[i] = sum;
}

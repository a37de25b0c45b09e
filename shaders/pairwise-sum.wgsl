// Pairwise summation, for the sums that one thread walks alone along a long axis (a thread or a workgroup per row:
// softmax's denominators and Σ dy·y, statistics pooling's means and deviations). The walk adds its terms plainly in
// blocks of PAIRWISE_BLOCK (an inner loop) and hands each block's sum to pairwiseAdd, which adds the blocks
// pairwise as a binary counter carries, so a term goes through ~PAIRWISE_BLOCK + log2(n / PAIRWISE_BLOCK) roundings
// rather than up to n. A running float32 sum of n alike terms loses up to ~n·2^-24 of it (4e-4 of a softmax over
// 2^16 columns, 3e-4 of a stats-pool mean over 2^16 values); the pairwise sum ~3e-7, whatever n. Kahan's
// compensation is no cure in float32: its correction is itself a running sum, which lost 2e-4 of 2^21 alike terms
// (emulated). Prepended to the shaders that use it (WGSL has no includes).

const PAIRWISE_BLOCK = 32u;
const PAIRWISE_LEVELS = 27u; // 2^27 blocks of 32 terms: any walk over u32 indices

struct PairwiseSum {
  blocks: u32, // the blocks added: bit k set ⇔ levels[k] holds the sum of 2^k of them
  levels: array<f32, PAIRWISE_LEVELS>,
}

/** Adds the plain sum of a block of (at most PAIRWISE_BLOCK) terms as a binary counter adds one: sums of equally
 * many blocks merge while the carry runs. Called per block, not per term, so the walks' inner loops stay plain. */
fn pairwiseAdd(s: ptr<function, PairwiseSum>, block: f32) {
  var sum = block;
  var k = 0u;
  for (var n = (*s).blocks; (n & 1u) != 0u; n >>= 1u) {
    sum += (*s).levels[k];
    k++;
  }
  (*s).levels[k] = sum;
  (*s).blocks += 1u;
}

/** The sum of the blocks added: the levels', smallest first, up to the highest one in use (a short row has one). */
fn pairwiseTotal(s: ptr<function, PairwiseSum>) -> f32 {
  var total = 0.0;
  var n = (*s).blocks;
  for (var k = 0u; n != 0u; k++) {
    if ((n & 1u) != 0u) {
      total += (*s).levels[k];
    }
    n >>= 1u;
  }
  return total;
}

// CPU reference of softmax and the fused softmax + cross-entropy loss (../softmax.ts is the WebGPU side).
// x [rows, cols] row-major; softmax runs along cols. Targets are class indices in [0, cols), one per row.
// The loss is torch's F.cross_entropy with reduction 'mean': Σ w[t]·(−log p[t]) / Σ w[t] (w ≡ 1 without weights).

/** A row's maximum and Σ exp(x − max): the max-subtracted softmax's denominator, and logsumexp = max + log(sum). */
function rowExpSum(x: ArrayLike<number>, o: number, cols: number): { max: number; sum: number } {
  let max = -Infinity;
  for (let j = 0; j < cols; j++) max = Math.max(max, x[o + j]);
  let sum = 0;
  for (let j = 0; j < cols; j++) sum += Math.exp(x[o + j] - max);
  return { max, sum };
}

/** y = exp(x − max) / Σ exp(x − max), per row. */
export function softmax(x: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const y = new Float64Array(rows * cols);
  for (let o = 0; o < rows * cols; o += cols) {
    const { max, sum } = rowExpSum(x, o, cols);
    for (let j = 0; j < cols; j++) y[o + j] = Math.exp(x[o + j] - max) / sum;
  }
  return y;
}

/** dx = y·(dy − Σ dy·y), per row. */
export function softmaxBackward(y: ArrayLike<number>, dy: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const dx = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += dy[o + j] * y[o + j];
    for (let j = 0; j < cols; j++) dx[o + j] = y[o + j] * (dy[o + j] - dot);
  }
  return dx;
}

function checkTargets(targets: ArrayLike<number>, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const t = targets[r];
    if (!Number.isInteger(t) || t < 0 || t >= cols) throw new Error(`cross-entropy: target ${t} of row ${r} is outside [0, ${cols})`);
  }
}

/** loss [1] = Σ w[t]·(logsumexp(x) − x[t]) / Σ w[t]; probs [rows, cols] = softmax(x). */
export function softmaxCrossEntropy(
  logits: ArrayLike<number>,
  targets: ArrayLike<number>,
  rows: number,
  cols: number,
  classWeights: ArrayLike<number> | null,
): { loss: Float64Array; probs: Float64Array } {
  checkTargets(targets, rows, cols);
  const probs = softmax(logits, rows, cols);
  let weighted = 0;
  let weightSum = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const { max, sum } = rowExpSum(logits, o, cols);
    const t = targets[r];
    const w = classWeights ? classWeights[t] : 1;
    weighted += w * (max + Math.log(sum) - logits[o + t]);
    weightSum += w;
  }
  return { loss: Float64Array.of(weighted / weightSum), probs };
}

/** d logits = dloss[0] · w[t]·(probs − onehot(t)) / Σ w[t]. */
export function softmaxCrossEntropyBackward(
  probs: ArrayLike<number>,
  targets: ArrayLike<number>,
  dloss: ArrayLike<number>,
  rows: number,
  cols: number,
  classWeights: ArrayLike<number> | null,
): Float64Array {
  checkTargets(targets, rows, cols);
  let weightSum = 0;
  for (let r = 0; r < rows; r++) weightSum += classWeights ? classWeights[targets[r]] : 1;
  const dx = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const t = targets[r];
    const scale = (dloss[0] * (classWeights ? classWeights[t] : 1)) / weightSum;
    for (let j = 0; j < cols; j++) dx[r * cols + j] = scale * (probs[r * cols + j] - (j === t ? 1 : 0));
  }
  return dx;
}

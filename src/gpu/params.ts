// The uniform parameters of a dispatch (the struct at @binding(0), see runtime.ts), packed as the shader reads them.

// A float's bits, through one shared pair of views: a Params is made for every dispatch, and typed arrays of its
// own (a buffer and three views) were 7 % of a training step's JavaScript and much of its garbage.
const floatBits = new Float32Array(1);
const floatWord = new Uint32Array(floatBits.buffer);

/** Packs a uniform struct of 4-byte scalars, in field order. */
export class Params {
  /** The struct's words as u32 bit patterns: also the uniform cache's key (binding-cache.ts). */
  readonly words: number[] = [];
  u32(...values: number[]): this {
    for (const v of values) this.words.push(this.integer(v, 0, 2 ** 32, 'u32'));
    return this;
  }
  /** Stored in two's complement (`>>> 0`), as the shader's i32 reads it. */
  i32(...values: number[]): this {
    for (const v of values) this.words.push(this.integer(v, -(2 ** 31), 2 ** 31, 'i32') >>> 0);
    return this;
  }
  f32(...values: number[]): this {
    for (const v of values) {
      floatBits[0] = v;
      this.words.push(floatWord[0]);
    }
    return this;
  }
  /** The packed words (the platform's byte order: little-endian wherever WebGPU runs), padded to a multiple of 16
   * bytes (at least 16). */
  bytes(): ArrayBuffer {
    const packed = new Uint32Array(Math.max(4, Math.ceil(this.words.length / 4) * 4));
    packed.set(this.words);
    return packed.buffer;
  }
  /** v, an integer in [low, high): a value out of range would reach the shader wrapped around, silently. */
  private integer(v: number, low: number, high: number, type: string): number {
    if (!Number.isInteger(v) || v < low || v >= high) {
      throw new Error(`uniform field ${this.words.length} (${type}) must be an integer from ${low} to ${high - 1}, got ${v}`);
    }
    return v;
  }
}

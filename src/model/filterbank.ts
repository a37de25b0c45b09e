// The learned filter bank that reads the raw waveform: F complex band-pass filters (a real and an imaginary
// kernel each) applied with a hop, whose squared magnitude is each band's energy per frame, then log-compressed.
// The kernels start as Hann-windowed complex sinusoids at mel-spaced centre frequencies (so the first epoch
// starts from a sensible time-frequency view, as SincNet's and LEAF's front ends do) and are then free
// parameters, trained with the rest of the network: the model still learns its own filters from the waveform.
//
//   x [N,1,L] → conv1d(stride hop) [N,2F,T] → re² + im² [N,F,T] → log(· + floor) [N,F,T]

import { Module } from '../engine/module.js';
import { conv1d, logEnergy, tensor } from '../engine/ops.js';
import type { Tensor } from '../engine/tensor.js';

export interface FilterBankConfig {
  /** Complex filters (bands); the convolution has twice as many output channels. */
  filters: number;
  /** Taps per filter (400 = 25 ms at 16 kHz). */
  kernel: number;
  /** Samples between frames (160 = 10 ms at 16 kHz). */
  hop: number;
  /** Lowest and highest centre frequency of the mel-spaced initialisation, in Hz. */
  minHz: number;
  maxHz: number;
}

/** Taps a filter needs: the Hann window that starts it is zero at both ends, so a two-tap filter would start as
 * zeros, and zero filters get zero gradients (the energy's gradient is 2·re·x): it would never learn. */
export const MIN_TAPS = 3;

/** Energies below this are floored before the log, so silence gives a finite value, not -Inf. */
const ENERGY_FLOOR = 1e-6;

const hzToMel = (hz: number) => 2595 * Math.log10(1 + hz / 700);
const melToHz = (mel: number) => 700 * (10 ** (mel / 2595) - 1);

/** [2F, 1, K]: the real kernels of the F bands, then their imaginary kernels. */
export function melGaborKernels(config: FilterBankConfig, sampleRate: number): Float32Array {
  const { filters: F, kernel: K } = config;
  const out = new Float32Array(2 * F * K);
  const [lo, hi] = [hzToMel(config.minHz), hzToMel(config.maxHz)];
  for (let f = 0; f < F; f++) {
    const centre = melToHz(lo + ((hi - lo) * f) / Math.max(1, F - 1));
    for (let k = 0; k < K; k++) {
      const t = (k - (K - 1) / 2) / sampleRate;
      // Hann window, scaled by 1/K so a unit-RMS signal gives energies of order one.
      const window = (0.5 - 0.5 * Math.cos((2 * Math.PI * k) / (K - 1))) / K;
      out[f * K + k] = window * Math.cos(2 * Math.PI * centre * t);
      out[(F + f) * K + k] = window * Math.sin(2 * Math.PI * centre * t);
    }
  }
  return out;
}

export class FilterBank extends Module {
  readonly weight: Tensor;
  constructor(
    readonly config: FilterBankConfig,
    sampleRate: number,
  ) {
    super();
    if (!Number.isInteger(config.kernel) || config.kernel < MIN_TAPS) throw new RangeError(`filter bank: kernel must be an integer of at least ${MIN_TAPS} taps, got ${config.kernel}`);
    this.weight = this.parameter('weight', tensor(melGaborKernels(config, sampleRate), [2 * config.filters, 1, config.kernel]));
  }

  /** Frames a window of L samples gives. */
  frames(length: number): number {
    return Math.floor((length + 2 * this.padding() - this.config.kernel) / this.config.hop) + 1;
  }

  forward(x: Tensor): Tensor {
    // re² + im² + floor and the log in one kernel each way (the composed ops took 4 forward and 3 backward).
    return logEnergy(conv1d(x, this.weight, null, { stride: this.config.hop, padding: this.padding() }), ENERGY_FLOOR);
  }

  /** Frames centred on their hop: a kernel of K taps sees K/2 samples either side. */
  private padding(): number {
    return Math.floor(this.config.kernel / 2) - 1;
  }
}

// Resampling: the file path keeps a tone's frequency and level, keeps the pass band flat and suppresses what
// would alias; the streaming resampler gives the file path's output for audio fed in odd-sized chunks.
import { describe, expect, it } from 'vitest';
import { resample, StreamingResampler } from '../src/audio/resample.js';
import { peakFrequency, rms, sine } from './signals.js';

describe('resample', () => {
  /** Level in dB of the output's middle (edges hold filter start-up transients) relative to the input. */
  const gainDb = (input: Float64Array, output: Float32Array) => {
    const edge = Math.floor(output.length * 0.1);
    return 20 * Math.log10(rms(output, edge, output.length - edge) / rms(input));
  };

  it('keeps a 1 kHz tone at 1 kHz and its level within 1% (44.1 kHz -> 16 kHz)', () => {
    const x = sine(1000, 44100, 1);
    const y = resample(Float32Array.from(x), 44100, 16000);
    expect(Math.abs(y.length - 16000)).toBeLessThanOrEqual(1);
    expect(peakFrequency(y, 16000, 500, 3000)).toBe(1000);
    let crossings = 0;
    for (let i = 1; i < y.length; i++) if (y[i - 1] < 0 !== y[i] < 0) crossings++;
    expect(Math.abs(crossings - 2000)).toBeLessThanOrEqual(2);
    expect(Math.abs(gainDb(x, y))).toBeLessThan(20 * Math.log10(1.01));
  });

  it('keeps the pass band flat up to 7 kHz (48 kHz -> 16 kHz) and a tone through 8 -> 16 kHz upsampling', () => {
    for (const f of [300, 3000, 7000]) {
      const x = sine(f, 48000, 0.5);
      expect(Math.abs(gainDb(x, resample(Float32Array.from(x), 48000, 16000)))).toBeLessThan(0.1);
    }
    const x = sine(1000, 8000, 0.5);
    const y = resample(Float32Array.from(x), 8000, 16000);
    expect(y.length).toBe(8000);
    expect(peakFrequency(y, 16000, 500, 3000)).toBe(1000);
    expect(Math.abs(gainDb(x, y))).toBeLessThan(0.1);
  });

  it('suppresses tones above the new Nyquist frequency instead of aliasing them', () => {
    const above = sine(12000, 44100, 1); // would alias to 4 kHz
    expect(gainDb(above, resample(Float32Array.from(above), 44100, 16000))).toBeLessThan(-30);
    const justAbove = sine(9000, 48000, 1); // would alias to 7 kHz
    expect(gainDb(justAbove, resample(Float32Array.from(justAbove), 48000, 16000))).toBeLessThan(-60);
  });

  it('keeps the band flat to 0.94 x Nyquist and puts aliases from 1.06 x Nyquist on more than 65 dB down', () => {
    const near = sine(7500, 48000, 1);
    expect(Math.abs(gainDb(near, resample(Float32Array.from(near), 48000, 16000)))).toBeLessThan(0.01);
    const beyond = sine(8500, 48000, 1); // would alias to 7.5 kHz
    expect(gainDb(beyond, resample(Float32Array.from(beyond), 48000, 16000))).toBeLessThan(-65);
  });

  it('returns a copy at equal rates, and silence or emptiness unchanged', () => {
    const x = Float32Array.from([0.1, -0.2, 0.3]);
    const same = resample(x, 16000, 16000);
    expect(same).toEqual(x);
    expect(same).not.toBe(x);
    expect(resample(new Float32Array(0), 44100, 16000)).toHaveLength(0);
    expect([...resample(new Float32Array(441), 44100, 16000)].every((v) => v === 0)).toBe(true);
    expect(() => resample(x, 0, 16000)).toThrow(RangeError);
  });
});

describe('StreamingResampler', () => {
  /** Tones across the band and beyond the new Nyquist, plus a click: the filter's whole response is exercised. */
  const signal = (rate: number) => {
    const x = Float32Array.from({ length: Math.round(rate * 0.7) }, (_, i) =>
      0.4 * Math.sin((2 * Math.PI * 440 * i) / rate) + 0.3 * Math.sin((2 * Math.PI * 7700 * i) / rate) + 0.2 * Math.sin((2 * Math.PI * 9100 * i) / rate));
    x[1234] += 0.9;
    return x;
  };

  it.each([44100, 48000])('gives the file path\'s output for %i Hz fed in odd-sized chunks, edges included', (rate) => {
    const x = signal(rate);
    const expected = resample(x, rate, 16000);
    const stream = new StreamingResampler(rate, 16000);
    const sizes = [1, 441, 7, 1000, 3, 128, 4999, 2];
    const parts: Float32Array[] = [];
    for (let at = 0, k = 0; at < x.length; at += sizes[k++ % sizes.length]) parts.push(stream.push(x.slice(at, at + sizes[k % sizes.length])));
    parts.push(stream.flush());
    const streamed = Float32Array.from(parts.flatMap((p) => [...p]));
    expect(streamed.length).toBe(expected.length);
    // The stream pads the start with the same zeros and, at flush(), the end: no start-up transient of its own,
    // so the whole output, edges included, is compared. The same sums in the same order make it exact in practice.
    let worst = 0;
    streamed.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - expected[i]))));
    expect(worst).toBeLessThanOrEqual(1e-6);
  });

  it('holds back only the filter\'s reach, passes equal rates through, and refuses input after flush()', () => {
    const stream = new StreamingResampler(48000, 16000);
    // 44 zero crossings at 16 kHz: an output waits for 132 input samples after its position.
    expect(stream.push(new Float32Array(132)).length).toBe(0);
    expect(stream.push(new Float32Array(4800)).length).toBe(1600);
    expect(stream.flush().length).toBe(44);
    expect(() => stream.push(new Float32Array(1))).toThrow(/after flush/);
    const same = new StreamingResampler(16000, 16000);
    const chunk = Float32Array.from([0.5, -0.5]);
    expect(same.push(chunk)).toEqual(chunk);
    expect(same.flush()).toHaveLength(0);
    expect(() => new StreamingResampler(0, 16000)).toThrow(RangeError);
  });
});

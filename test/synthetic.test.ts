// The synthetic corpus: deterministic, speech-like in the measurable ways the generator promises (female
// pitch above male, emotion-dependent pitch, energy and tempo), learnable from simple prosodic features,
// and round-trips through its WAV + CSV form.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCorpusAudio, readCorpus } from '../src/train/corpora/index.js';
import {
  SYNTHETIC_CLASSES,
  generateSyntheticCorpus,
  makeVoice,
  synthesizeUtterance,
  writeSyntheticCorpus,
} from '../src/train/synthetic.js';

const SR = 16000;

/** Median F0 (Hz) over the loudest frames, by normalised autocorrelation (first peak near the maximum). */
function medianF0(x: Float32Array, sr = SR): number {
  const frame = 1024;
  const minLag = Math.floor(sr / 500);
  const maxLag = Math.ceil(sr / 70);
  const frames: { start: number; energy: number }[] = [];
  for (let start = 0; start + frame + maxLag <= x.length; start += frame / 2) {
    let e = 0;
    for (let i = start; i < start + frame; i++) e += x[i] * x[i];
    frames.push({ start, energy: e });
  }
  frames.sort((a, b) => b.energy - a.energy);
  const estimates: number[] = [];
  for (const { start } of frames.slice(0, Math.max(3, Math.floor(frames.length * 0.3)))) {
    const r = new Float64Array(maxLag + 2);
    for (let lag = minLag; lag <= maxLag + 1; lag++) {
      let xy = 0;
      let xx = 0;
      let yy = 0;
      for (let i = start; i < start + frame; i++) {
        xy += x[i] * x[i + lag];
        xx += x[i] * x[i];
        yy += x[i + lag] * x[i + lag];
      }
      r[lag] = xy / Math.sqrt(xx * yy + 1e-12);
    }
    let best = minLag;
    for (let lag = minLag; lag <= maxLag; lag++) if (r[lag] > r[best]) best = lag;
    if (r[best] < 0.4) continue;
    // Prefer the shortest lag that is nearly as periodic as the best: avoids octave-down errors.
    for (let lag = minLag + 1; lag <= maxLag; lag++) {
      if (r[lag] >= 0.9 * r[best] && r[lag] >= r[lag - 1] && r[lag] >= r[lag + 1]) {
        best = lag;
        break;
      }
    }
    estimates.push(sr / best);
  }
  estimates.sort((a, b) => a - b);
  return estimates.length ? estimates[Math.floor(estimates.length / 2)] : NaN;
}

const rms = (x: Float32Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Prosodic features: log pitch, pitch relative to the speaker's gender mean, spectral balance, tempo. */
function features(x: Float32Array): number[] {
  let diff = 0;
  for (let i = 1; i < x.length; i++) diff += (x[i] - x[i - 1]) ** 2;
  const brightness = Math.sqrt(diff / x.length) / (rms(x) + 1e-12);
  // Syllable tempo: peaks of the 10 ms energy envelope above a quarter of its maximum.
  const hop = SR / 100;
  const env: number[] = [];
  for (let s = 0; s + hop <= x.length; s += hop) env.push(rms(x.subarray(s, s + hop)));
  const smooth = env.map((_, i) => mean(env.slice(Math.max(0, i - 3), i + 4)));
  const top = Math.max(...smooth);
  let peaks = 0;
  for (let i = 1; i < smooth.length - 1; i++) if (smooth[i] > smooth[i - 1] && smooth[i] >= smooth[i + 1] && smooth[i] > 0.25 * top) peaks++;
  return [Math.log(medianF0(x)), brightness, peaks / (x.length / SR)];
}

describe('synthetic corpus', () => {
  const corpus = generateSyntheticCorpus({ speakers: 8, utterancesPerEmotion: 3, seconds: 1.5 });
  const measured = new Map<Float32Array, number[]>();
  /** [log F0, brightness, tempo], measured once per utterance: pitch tracking is the slow part. */
  const measure = (x: Float32Array) => measured.get(x) ?? measured.set(x, features(x)).get(x)!;
  const f0Of = (x: Float32Array) => Math.exp(measure(x)[0]);

  it('has the documented shape: classes, speaker ids, half female, level-normalised samples', () => {
    expect(corpus.name).toBe('synthetic');
    expect(corpus.classes).toEqual(SYNTHETIC_CLASSES);
    expect(corpus.utterances).toHaveLength(8 * 4 * 3);
    const speakers = [...new Set(corpus.utterances.map((u) => u.speaker))].sort();
    expect(speakers).toEqual(['S01f', 'S02m', 'S03f', 'S04m', 'S05f', 'S06m', 'S07f', 'S08m']);
    for (const u of corpus.utterances) {
      expect(u.gender).toBe(u.speaker.endsWith('f') ? 'f' : 'm');
      expect(u.samples).toHaveLength(1.5 * SR);
      expect(rms(u.samples)).toBeCloseTo(1, 4);
      expect(Math.abs(mean([...u.samples]))).toBeLessThan(1e-5);
    }
    const files = corpus.utterances.map((u) => u.file);
    expect(files).toEqual([...files].sort());
    expect(new Set(files).size).toBe(files.length);
  });

  it('is deterministic: same seed, same samples; another seed, other samples', () => {
    const again = generateSyntheticCorpus({ speakers: 2, utterancesPerEmotion: 1, seconds: 0.5 });
    const same = generateSyntheticCorpus({ speakers: 2, utterancesPerEmotion: 1, seconds: 0.5 });
    const other = generateSyntheticCorpus({ speakers: 2, utterancesPerEmotion: 1, seconds: 0.5, seed: 2 });
    again.utterances.forEach((u, i) => {
      expect(same.utterances[i].samples).toEqual(u.samples);
      expect(other.utterances[i].samples).not.toEqual(u.samples);
    });
    // Per-utterance streams: asking for more utterances does not change the first ones.
    const more = generateSyntheticCorpus({ speakers: 2, utterancesPerEmotion: 2, seconds: 0.5 });
    expect(more.utterances.find((u) => u.file === again.utterances[0].file)!.samples).toEqual(again.utterances[0].samples);
  });

  it('female voices are measurably higher-pitched than male ones, and within the gender ranges', () => {
    const f0 = (g: 'f' | 'm', emotion: string) =>
      mean(corpus.utterances.filter((u) => u.gender === g && u.emotion === emotion).map((u) => f0Of(u.samples)));
    expect(f0('f', 'neutral')).toBeGreaterThan(185);
    expect(f0('f', 'neutral')).toBeLessThan(250);
    expect(f0('m', 'neutral')).toBeGreaterThan(100);
    expect(f0('m', 'neutral')).toBeLessThan(145);
    for (const e of SYNTHETIC_CLASSES) expect(f0('f', e)).toBeGreaterThan(f0('m', e) * 1.3);
    // The emotion cue overlaps the gender cue: angry men reach the pitch of neutral women.
    expect(f0('m', 'angry')).toBeGreaterThan(0.7 * f0('f', 'neutral'));
  });

  it('emotion shapes pitch, tempo and raw energy (angry/happy high and fast, sad low, slow and quiet)', () => {
    const byEmotion = (e: string) => corpus.utterances.filter((u) => u.emotion === e);
    const pitch = (e: string) => mean(byEmotion(e).map((u) => measure(u.samples)[0]));
    expect(pitch('angry')).toBeGreaterThan(pitch('neutral'));
    expect(pitch('happy')).toBeGreaterThan(pitch('neutral'));
    expect(pitch('neutral')).toBeGreaterThan(pitch('sad'));
    const tempo = (e: string) => mean(byEmotion(e).map((u) => measure(u.samples)[2]));
    expect(tempo('angry')).toBeGreaterThan(tempo('sad') * 1.3);
    const voice = makeVoice(0, 1);
    const rawRms = (e: string) => mean([1, 2, 3, 4].map((seed) => rms(synthesizeUtterance(voice, e, seed, 1))));
    expect(rawRms('angry')).toBeGreaterThan(2 * rawRms('sad'));
    expect(rawRms('neutral')).toBeGreaterThan(rawRms('sad'));
  });

  it('is learnable across speakers: a nearest-centroid on three prosodic features beats chance clearly', () => {
    const testSpeakers = new Set(['S07f', 'S08m']);
    const rows = corpus.utterances.map((u) => ({ u, f: [...measure(u.samples)] }));
    // Gender-aware pitch: log F0 relative to the training mean of the speaker's gender.
    const train = rows.filter((r) => !testSpeakers.has(r.u.speaker));
    const genderMean = { f: mean(train.filter((r) => r.u.gender === 'f').map((r) => r.f[0])), m: mean(train.filter((r) => r.u.gender === 'm').map((r) => r.f[0])) };
    for (const r of rows) r.f[0] -= genderMean[r.u.gender];
    const dims = rows[0].f.length;
    const mu = Array.from({ length: dims }, (_, d) => mean(train.map((r) => r.f[d])));
    const sd = Array.from({ length: dims }, (_, d) => Math.sqrt(mean(train.map((r) => (r.f[d] - mu[d]) ** 2))));
    const z = (f: number[]) => f.map((v, d) => (v - mu[d]) / sd[d]);
    const centroids = SYNTHETIC_CLASSES.map((c) => {
      const zs = train.filter((r) => r.u.emotion === c).map((r) => z(r.f));
      return Array.from({ length: dims }, (_, d) => mean(zs.map((v) => v[d])));
    });
    const test = rows.filter((r) => testSpeakers.has(r.u.speaker));
    const correct = test.filter((r) => {
      const v = z(r.f);
      const dist = centroids.map((c) => c.reduce((s, cd, d) => s + (cd - v[d]) ** 2, 0));
      return SYNTHETIC_CLASSES[dist.indexOf(Math.min(...dist))] === r.u.emotion;
    }).length;
    expect(correct / test.length).toBeGreaterThanOrEqual(0.6); // chance is 0.25
  });

  describe('written to disk', () => {
    let dir = '';
    afterAll(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('round-trips through 16-bit WAVs and a CSV manifest that readCorpus("csv") reads', async () => {
      dir = await mkdtemp(join(tmpdir(), 'ser-synthetic-'));
      const opts = { speakers: 2, utterancesPerEmotion: 2, seconds: 0.75 };
      const manifest = await writeSyntheticCorpus(dir, opts);
      const read = await readCorpus('csv', manifest);
      expect(read.classes).toEqual([...SYNTHETIC_CLASSES].sort());
      expect(await readCorpus('csv', dir)).toEqual(read);
      const { utterances, skipped } = await loadCorpusAudio(read, { sampleRate: SR });
      expect(skipped).toEqual([]);
      const memory = generateSyntheticCorpus(opts).utterances;
      expect(utterances).toHaveLength(memory.length);
      utterances.forEach((u, i) => {
        const m = memory[i];
        expect([u.emotion, u.speaker, u.gender]).toEqual([m.emotion, m.speaker, m.gender]);
        expect(u.file.endsWith(m.file.replace('synthetic/', ''))).toBe(true);
        // Same audio up to 16-bit quantisation: correlation ~1.
        let dot = 0;
        for (let k = 0; k < u.samples.length; k++) dot += u.samples[k] * m.samples[k];
        expect(dot / u.samples.length).toBeGreaterThan(0.999);
      });
    });
  });
});

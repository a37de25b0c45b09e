// Synthetic emotional speech: the project's embedded default corpus (real corpora can't ship). A seeded
// source-filter synthesiser makes voiced, syllabic, speech-like utterances whose pitch, pitch range, tempo,
// energy, jitter/shimmer, spectral tilt and breathiness depend on the emotion, and whose pitch and formants
// depend on the speaker's gender. Emotion pitch cues overlap the gender pitch ranges (a male angry voice
// sits near a female neutral one), so knowing the gender helps, as with real speech.
import { seededRandom } from '../engine/random.js';
import { encodeWav16, normalizeLevel } from '../audio/index.js';
import type { Gender, LoadedUtterance } from './corpora/types.js';

export interface SyntheticOptions {
  /** Number of speakers, alternating female/male (S01f, S02m, ...). Default 8. */
  speakers?: number;
  /** Utterances per emotion per speaker. Default 6. */
  utterancesPerEmotion?: number;
  /** Utterance length in seconds. Default 2. */
  seconds?: number;
  /** Default 16000. */
  sampleRate?: number;
  /** Default 1. */
  seed?: number;
}

export const SYNTHETIC_CLASSES = ['angry', 'happy', 'sad', 'neutral'];

/** How an emotion shapes the voice; per-utterance draws scatter around these values. */
interface EmotionProfile {
  /** F0 relative to the speaker's base pitch. */
  pitch: number;
  /** Depth of the intonation contour, semitones. */
  rangeSemitones: number;
  /** Syllables per second. */
  syllableRate: number;
  /** Linear amplitude before level normalisation. */
  energy: number;
  /** Relative period perturbation (standard deviation). */
  jitter: number;
  /** Relative pulse-amplitude perturbation (standard deviation). */
  shimmer: number;
  /** One-pole low-pass coefficient on the source: 0 = flat spectrum, near 1 = steep roll-off. */
  tilt: number;
  /** Fraction of each glottal period the glottis is open: short = pressed and bright, long = lax. */
  openQuotient: number;
  /** Aspiration noise relative to the voiced source. */
  breathiness: number;
  /** Syllable envelope exponent: below 1 = abrupt onsets, above 1 = soft ones. */
  envelopeShape: number;
}

const PROFILES: Record<string, EmotionProfile> = {
  angry: { pitch: 1.35, rangeSemitones: 4.5, syllableRate: 5.4, energy: 1.0, jitter: 0.018, shimmer: 0.12, tilt: 0.1, openQuotient: 0.4, breathiness: 0.04, envelopeShape: 0.5 },
  happy: { pitch: 1.3, rangeSemitones: 7, syllableRate: 4.7, energy: 0.7, jitter: 0.01, shimmer: 0.07, tilt: 0.35, openQuotient: 0.55, breathiness: 0.05, envelopeShape: 0.9 },
  sad: { pitch: 0.88, rangeSemitones: 1.5, syllableRate: 2.8, energy: 0.3, jitter: 0.008, shimmer: 0.06, tilt: 0.75, openQuotient: 0.7, breathiness: 0.15, envelopeShape: 1.6 },
  neutral: { pitch: 1.0, rangeSemitones: 3, syllableRate: 3.9, energy: 0.5, jitter: 0.005, shimmer: 0.04, tilt: 0.5, openQuotient: 0.6, breathiness: 0.06, envelopeShape: 1.1 },
};

/** F1-F3 of five vowels for an adult male voice (Peterson & Barney averages, Hz). */
const VOWELS = [
  [730, 1090, 2440], // a
  [530, 1840, 2480], // e
  [270, 2290, 3010], // i
  [570, 840, 2410], // o
  [300, 870, 2240], // u
];
const FORMANT_BANDWIDTHS = [80, 100, 140];
/** Female vocal tracts are shorter: formants ~17% higher. */
const FEMALE_FORMANT_SCALE = 1.17;
const BACKGROUND_NOISE = 0.002;


/** An independent stream per (seed, speaker, emotion, utterance): changing one count leaves the others' audio alone. */
function streamSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
  }
  return h >>> 0;
}

class Random {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = seededRandom(seed);
  }
  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * this.next();
  }
  /** Standard normal (Box-Muller). */
  normal(): number {
    return Math.sqrt(-2 * Math.log(1 - this.next())) * Math.cos(2 * Math.PI * this.next());
  }
  /** Cheap zero-mean, unit-variance noise for the per-sample noise sources. */
  noise(): number {
    return (this.next() - 0.5) * 3.4641016151377544;
  }
  pick<T>(items: T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
}

export interface SyntheticVoice {
  id: string;
  gender: Gender;
  /** Mean F0 of the speaker's neutral voice, Hz. */
  basePitch: number;
  formantScale: number;
  /** How strongly this speaker expresses emotion (scales the emotional departures from neutral). */
  expressiveness: number;
}

export function makeVoice(index: number, seed: number, idDigits = 2): SyntheticVoice {
  const rng = new Random(streamSeed(seed, index, 0x5eed));
  const gender: Gender = index % 2 === 0 ? 'f' : 'm';
  const basePitch = gender === 'f' ? rng.uniform(190, 230) : rng.uniform(105, 135);
  const formantScale = (gender === 'f' ? FEMALE_FORMANT_SCALE : 1) * rng.uniform(0.96, 1.04);
  return { id: `S${String(index + 1).padStart(idDigits, '0')}${gender}`, gender, basePitch, formantScale, expressiveness: rng.uniform(0.75, 1.25) };
}

interface Syllable {
  start: number;
  end: number;
  formants: number[];
  accent: number;
}

function planSyllables(rng: Random, seconds: number, rate: number, formantScale: number): Syllable[] {
  const syllables: Syllable[] = [];
  const vowel = () => rng.pick(VOWELS).map((f) => f * formantScale);
  for (let t = rng.uniform(0.05, 0.15); ; ) {
    const length = rng.uniform(0.7, 1.3) / rate;
    if (t + length > seconds - 0.05) break;
    syllables.push({ start: t, end: t + length, formants: vowel(), accent: rng.uniform(-1, 1) });
    t += length;
    if (rng.uniform() < 0.15) t += rng.uniform(0.05, 0.2); // an occasional phrase pause
  }
  // Too short for a whole syllable: voice nearly all of it rather than return silence.
  if (syllables.length === 0) syllables.push({ start: seconds * 0.05, end: seconds * 0.95, formants: vowel(), accent: 0 });
  return syllables;
}

/** Rosenberg glottal flow over one period (phase in [0,1)): cosine opening, quarter-cosine closing, then closed. */
function glottalFlow(phase: number, openQuotient: number): number {
  const opening = 0.65 * openQuotient;
  if (phase < opening) return 0.5 * (1 - Math.cos((Math.PI * phase) / opening));
  if (phase < openQuotient) return Math.cos((0.5 * Math.PI * (phase - opening)) / (openQuotient - opening));
  return 0;
}

/** One utterance before level normalisation (so its energy still reflects the emotion). */
export function synthesizeUtterance(voice: SyntheticVoice, emotion: string, seed: number, seconds = 2, sampleRate = 16000): Float32Array {
  const p = PROFILES[emotion];
  if (!p) throw new Error(`synthetic: unknown emotion "${emotion}" (expected one of ${SYNTHETIC_CLASSES.join(', ')})`);
  const rng = new Random(seed);
  const spread = (sd: number) => Math.exp(sd * rng.normal());
  const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
  const x = voice.expressiveness;
  const meanF0 = voice.basePitch * (1 + (p.pitch - 1) * x) * spread(0.05);
  const range = p.rangeSemitones * x * spread(0.2);
  const rate = p.syllableRate * (1 + (p.syllableRate / PROFILES.neutral.syllableRate - 1) * (x - 1)) * spread(0.1);
  const energy = p.energy * spread(0.2);
  const jitter = p.jitter * spread(0.2);
  const shimmer = p.shimmer * spread(0.2);
  const tilt = clamp(p.tilt + 0.06 * rng.normal(), 0.02, 0.95);
  const openQuotient = clamp(p.openQuotient + 0.04 * rng.normal(), 0.3, 0.85);
  const breathiness = p.breathiness * spread(0.2);
  const intonationPhase = rng.uniform(0, 2 * Math.PI);
  const declination = 0.3 * range + 1; // semitones of fall over the utterance

  const n = Math.max(1, Math.round(seconds * sampleRate));
  const syllables = planSyllables(rng, n / sampleRate, rate, voice.formantScale);
  const out = new Float32Array(n);
  const maxFormant = 0.45 * sampleRate;
  const radii = FORMANT_BANDWIDTHS.map((b) => Math.exp((-Math.PI * b) / sampleRate));
  const formants = [...syllables[0].formants];
  const a1 = new Float64Array(3);
  const a2 = Float64Array.from(radii, (r) => -r * r);
  const y1 = new Float64Array(3);
  const y2 = new Float64Array(3);
  // Pitch, formants and the syllable envelope move slowly: they are evaluated every 0.5 ms (the envelope
  // interpolated linearly in between), which keeps most transcendental functions out of the per-sample loop.
  const block = Math.max(1, Math.round(sampleRate / 2000));
  const glide = 1 - Math.exp(-block / (0.02 * sampleRate)); // 20 ms articulatory transitions
  let syllable = 0;
  const envelopeAt = (t: number) => {
    while (syllable < syllables.length - 1 && t >= syllables[syllable].end) syllable++;
    const s = syllables[syllable];
    const tau = (t - s.start) / (s.end - s.start);
    return tau >= 0 && tau < 1 ? Math.sin(Math.PI * tau) : 0;
  };
  let arc = envelopeAt(0);
  let phase = 0;
  let periodScale = 1;
  let pulseAmplitude = 1;
  let previousFlow = 0;
  let tilted = 0;
  const samplesPerPeriod = sampleRate / meanF0; // flow derivative scaled to O(1) per period
  for (let start = 0; start < n; start += block) {
    const t = start / sampleRate;
    const s = syllables[syllable];
    const semitones = range * (0.5 * Math.sin(2 * Math.PI * 0.45 * t + intonationPhase) + 0.5 * s.accent * arc) - (declination * t) / seconds;
    const phaseStep = (meanF0 * 2 ** (semitones / 12)) / sampleRate;
    for (let k = 0; k < 3; k++) {
      formants[k] += glide * (s.formants[k] - formants[k]);
      a1[k] = 2 * radii[k] * Math.cos((2 * Math.PI * Math.min(formants[k], maxFormant)) / sampleRate);
    }
    const nextArc = envelopeAt((start + block) / sampleRate);
    const envelope = arc ** p.envelopeShape;
    const envelopeStep = (nextArc ** p.envelopeShape - envelope) / block;
    const end = Math.min(n, start + block);
    for (let i = start; i < end; i++) {
      phase += phaseStep * periodScale;
      if (phase >= 1) {
        phase -= Math.floor(phase);
        periodScale = 1 + jitter * rng.normal();
        pulseAmplitude = Math.max(0, 1 + shimmer * rng.normal());
      }
      const flow = glottalFlow(phase, openQuotient) * pulseAmplitude;
      const source = (flow - previousFlow) * samplesPerPeriod;
      previousFlow = flow;
      tilted = (1 - tilt) * source + tilt * tilted;
      let signal = (envelope + envelopeStep * (i - start)) * (tilted + breathiness * rng.noise());
      for (let k = 0; k < 3; k++) {
        const y = (1 - a1[k] - a2[k]) * signal + a1[k] * y1[k] + a2[k] * y2[k]; // unity gain at DC
        y2[k] = y1[k];
        y1[k] = y;
        signal = y;
      }
      out[i] = energy * signal + BACKGROUND_NOISE * rng.noise();
    }
    arc = nextArc;
  }
  return out;
}

interface RawUtterance {
  name: string;
  emotion: string;
  speaker: string;
  gender: Gender;
  raw: Float32Array;
}

function* rawUtterances(opts: SyntheticOptions): Generator<RawUtterance> {
  const speakers = opts.speakers ?? 8;
  const perEmotion = opts.utterancesPerEmotion ?? 6;
  const seconds = opts.seconds ?? 2;
  const sampleRate = opts.sampleRate ?? 16000;
  const seed = opts.seed ?? 1;
  if (!Number.isInteger(speakers) || speakers < 1) throw new RangeError(`synthetic: speakers must be a positive integer, got ${speakers}`);
  if (!Number.isInteger(perEmotion) || perEmotion < 1) throw new RangeError(`synthetic: utterancesPerEmotion must be a positive integer, got ${perEmotion}`);
  if (!(seconds > 0) || !(sampleRate >= 8000)) throw new RangeError(`synthetic: need seconds > 0 and sampleRate >= 8000`);
  // Zero-padded numbers keep the file names (and so the corpus order) sorted numerically.
  const idDigits = Math.max(2, String(speakers).length);
  const utteranceDigits = Math.max(2, String(perEmotion).length);
  for (let s = 0; s < speakers; s++) {
    const voice = makeVoice(s, seed, idDigits);
    for (const [e, emotion] of SYNTHETIC_CLASSES.entries()) {
      for (let u = 0; u < perEmotion; u++) {
        const raw = synthesizeUtterance(voice, emotion, streamSeed(seed, s, e, u), seconds, sampleRate);
        const name = `${voice.id}_${emotion}_${String(u + 1).padStart(utteranceDigits, '0')}.wav`;
        yield { name, emotion, speaker: voice.id, gender: voice.gender, raw };
      }
    }
  }
}

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** The synthetic corpus in memory, level-normalised exactly as loadAudio would return real recordings. */
export function generateSyntheticCorpus(opts: SyntheticOptions = {}): { name: 'synthetic'; classes: string[]; utterances: LoadedUtterance[] } {
  const utterances = [...rawUtterances(opts)].sort(byName).map(({ name, emotion, speaker, gender, raw }) => ({
    file: `synthetic/${name}`,
    emotion,
    speaker,
    gender,
    samples: normalizeLevel(raw),
  }));
  return { name: 'synthetic', classes: [...SYNTHETIC_CLASSES], utterances };
}

/**
 * Writes the corpus as 16-bit WAVs under dir/wav plus dir/synthetic.csv (readable by readCorpus('csv')), and
 * returns the manifest's path. One gain for the whole corpus keeps the emotions' level differences in the
 * files, as in a real recording session.
 */
export async function writeSyntheticCorpus(dir: string, opts: SyntheticOptions = {}): Promise<string> {
  // Node-only; imported here so the in-memory generator stays usable in browsers.
  const { mkdir, writeFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const sampleRate = opts.sampleRate ?? 16000;
  const utterances = [...rawUtterances(opts)].sort(byName);
  let peak = 0;
  for (const u of utterances) for (const v of u.raw) peak = Math.max(peak, Math.abs(v));
  const gain = 0.9 / (peak || 1);
  await mkdir(join(dir, 'wav'), { recursive: true });
  const lines = ['path,emotion,speaker,gender'];
  for (const u of utterances) {
    await writeFile(join(dir, 'wav', u.name), encodeWav16(u.raw.map((v) => v * gain), sampleRate));
    lines.push(`wav/${u.name},${u.emotion},${u.speaker},${u.gender}`);
  }
  const manifest = join(dir, 'synthetic.csv');
  await writeFile(manifest, lines.join('\n') + '\n');
  return manifest;
}

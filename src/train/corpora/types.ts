// The shared vocabulary of corpus readers: what an utterance is, what a corpus is, which corpora exist,
// and the canonical English emotion names (in the fixed order every reader lists its classes in).

export type Gender = 'f' | 'm';

export interface Utterance {
  file: string;
  emotion: string;
  speaker: string;
  gender: Gender;
  /** The split group: folds never put speakers of one group on both sides (IEMOCAP: the session, whose two
   * actors share every dialogue and are heard on each other's microphones). Default: the speaker alone. */
  group?: string;
}

export interface Corpus {
  name: string;
  classes: string[];
  utterances: Utterance[];
  /** Utterances outside the label set (IEMOCAP's 4 classes leave out frustrated, surprise, no majority 'xxx',
   * ...), `emotion` their own label: never trained on or scored, but their speaker's audio all the same, which
   * per-speaker normalisation adapts to, since what it sees of a speaker cannot depend on emotion labels. */
  unscored?: Utterance[];
}

export interface LoadedUtterance extends Utterance {
  samples: Float32Array;
}

export type CorpusKind = 'emodb' | 'ravdess' | 'cremad' | 'iemocap' | 'casia' | 'csv';

export interface CorpusOptions {
  /** IEMOCAP: excited counts as happy (the usual practice). Default true. */
  mergeExcited?: boolean;
  /** IEMOCAP: keep only angry/happy/sad/neutral, the usual setup. Default true. */
  fourClass?: boolean;
  /** CREMA-D: path of VideoDemographics.csv when it is not somewhere below the corpus folder. */
  demographicsCsv?: string;
}

/**
 * Canonical emotion names in their fixed order: the four classes shared by most corpora first, then the
 * rest. A corpus's `classes` is this list filtered to its own standard label set.
 */
export const EMOTION_ORDER = [
  'angry', 'happy', 'sad', 'neutral', 'excited', 'fear', 'disgust', 'boredom', 'calm', 'surprise', 'frustrated',
] as const;

export type Emotion = (typeof EMOTION_ORDER)[number];

/** The standard label set in canonical order. */
export function orderedClasses(labels: Iterable<string>): string[] {
  const set = new Set(labels);
  return EMOTION_ORDER.filter((e) => set.has(e));
}

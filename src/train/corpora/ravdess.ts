// RAVDESS: seven two-digit fields in the file name, modality-vocalChannel-emotion-intensity-statement-
// repetition-actor (e.g. 03-01-06-01-02-01-12.wav). Only audio-only speech (03, 01) is kept; odd actors are
// male, even actors female.
import { basename } from 'node:path';
import { readLabelledByPath } from './files.js';
import type { Corpus, Utterance } from './types.js';

const EMOTIONS: Record<string, string> = {
  '01': 'neutral', '02': 'calm', '03': 'happy', '04': 'sad', '05': 'angry', '06': 'fear', '07': 'disgust', '08': 'surprise',
};
export const RAVDESS_CLASSES = ['angry', 'happy', 'sad', 'neutral', 'fear', 'disgust', 'calm', 'surprise'];

const NAME = /^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})\.wav$/i;
const AUDIO_ONLY = '03';
const SPEECH = '01';

export function parseRavdessName(file: string): Omit<Utterance, 'file'> | undefined {
  const m = NAME.exec(basename(file));
  if (!m || m[1] !== AUDIO_ONLY || m[2] !== SPEECH) return undefined;
  const emotion = EMOTIONS[m[3]];
  const actor = Number(m[7]);
  if (!emotion || actor < 1) return undefined;
  return { emotion, speaker: m[7], gender: actor % 2 === 1 ? 'm' : 'f' };
}

export function readRavdess(dir: string): Promise<Corpus> {
  return readLabelledByPath('ravdess', dir, RAVDESS_CLASSES, parseRavdessName, 'audio-only speech names like 03-01-06-01-02-01-12.wav', true);
}

// EMO-DB (Berlin Database of Emotional Speech): labels come from the file name alone, e.g. 03a01Fa.wav =
// speaker 03, text a01, emotion F (happiness), version a. Ten speakers with fixed, documented genders.
import { basename } from 'node:path';
import { readLabelledByPath } from './files.js';
import type { Corpus, Gender, Utterance } from './types.js';

const EMOTIONS: Record<string, string> = {
  W: 'angry', // Wut
  L: 'boredom', // Langeweile
  E: 'disgust', // Ekel
  A: 'fear', // Angst
  F: 'happy', // Freude
  T: 'sad', // Trauer
  N: 'neutral',
};
const SPEAKER_GENDER: Record<string, Gender> = {
  '03': 'm', '10': 'm', '11': 'm', '12': 'm', '15': 'm',
  '08': 'f', '09': 'f', '13': 'f', '14': 'f', '16': 'f',
};
export const EMODB_CLASSES = ['angry', 'happy', 'sad', 'neutral', 'fear', 'disgust', 'boredom'];

const NAME = /^(\d{2})([a-z]\d{2})([WLEAFTN])([a-z])\.wav$/i;

export function parseEmodbName(file: string): Omit<Utterance, 'file'> | undefined {
  const m = NAME.exec(basename(file));
  if (!m) return undefined;
  const gender = SPEAKER_GENDER[m[1]];
  const emotion = EMOTIONS[m[3].toUpperCase()];
  return gender && emotion ? { emotion, speaker: m[1], gender } : undefined;
}

export function readEmodb(dir: string): Promise<Corpus> {
  return readLabelledByPath('emodb', dir, EMODB_CLASSES, parseEmodbName, 'names like 03a01Fa.wav', true);
}

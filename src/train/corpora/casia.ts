// CASIA Chinese emotional speech corpus (4 speakers x 6 emotions): the distributed layout is
// <speaker>/<emotion>/<id>.wav, so labels come from the two nearest parent folders (case-insensitive);
// renamed flat copies ("201-sad-zhaoquanyin.wav") are recognised from the file-name tokens instead.
import { basename, dirname } from 'node:path';
import { hasWavExtension, readLabelledByPath } from './files.js';
import type { Corpus, Gender, Utterance } from './types.js';

export const CASIA_CLASSES = ['angry', 'happy', 'sad', 'neutral', 'fear', 'surprise'];

/** Canonical speaker ids; the keys include the romanised full names some copies use for the 100-sentence part. */
const SPEAKERS: Record<string, { id: string; gender: Gender }> = {
  liuchanhg: { id: 'liuchanhg', gender: 'f' },
  'chang.liu': { id: 'liuchanhg', gender: 'f' },
  zhaoquanyin: { id: 'zhaoquanyin', gender: 'f' },
  'quanyin.zhao': { id: 'zhaoquanyin', gender: 'f' },
  wangzhe: { id: 'wangzhe', gender: 'm' },
  'zhe.wang': { id: 'wangzhe', gender: 'm' },
  zhaozuoxiang: { id: 'ZhaoZuoxiang', gender: 'm' },
  'zuoxiang.zhao': { id: 'ZhaoZuoxiang', gender: 'm' },
};

/** The release's 100-sentence part (不同文本100/Chang.Liu/…) names its neutral folders `normal`. */
const emotionName = (name: string) => (name === 'normal' ? 'neutral' : name);

export function parseCasiaPath(file: string): Omit<Utterance, 'file'> | undefined {
  if (!hasWavExtension(file)) return undefined;
  const emotionFolder = emotionName(basename(dirname(file)).toLowerCase());
  const speakerFolder = basename(dirname(dirname(file))).toLowerCase();
  const fromFolders = CASIA_CLASSES.includes(emotionFolder) ? SPEAKERS[speakerFolder] : undefined;
  if (fromFolders) return { emotion: emotionFolder, speaker: fromFolders.id, gender: fromFolders.gender };
  const tokens = basename(file).slice(0, -4).toLowerCase().split(/[-_\s]+/).map(emotionName);
  const emotion = tokens.find((t) => CASIA_CLASSES.includes(t));
  const speaker = tokens.map((t) => SPEAKERS[t]).find((s) => s !== undefined);
  return emotion && speaker ? { emotion, speaker: speaker.id, gender: speaker.gender } : undefined;
}

/**
 * What identifies a CASIA recording: its speaker and emotion folders as written, with its name (lower-cased, so
 * 201.WAV beside 201.wav is the same recording); a renamed flat copy's name alone, which holds both. The folders
 * are kept as written, not canonicalised, so that the 100-sentence part's Chang.Liu/normal/001.wav never collides
 * with a liuchanhg/neutral/001.wav of the 300-sentence part. A key found twice is a second copy of the corpus.
 */
function casiaCopyKey(file: string): string {
  const name = basename(file).toLowerCase();
  const emotionFolder = basename(dirname(file)).toLowerCase();
  const speakerFolder = basename(dirname(dirname(file))).toLowerCase();
  const byFolders = CASIA_CLASSES.includes(emotionName(emotionFolder)) && SPEAKERS[speakerFolder] !== undefined;
  return byFolders ? `${speakerFolder}/${emotionFolder}/${name}` : name;
}

export function readCasia(dir: string): Promise<Corpus> {
  return readLabelledByPath('casia', dir, CASIA_CLASSES, parseCasiaPath, '<speaker>/<emotion>/<id>.wav, e.g. wangzhe/angry/201.wav', casiaCopyKey);
}

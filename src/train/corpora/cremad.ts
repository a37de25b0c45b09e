// CREMA-D: actor_sentence_emotion_level file names (1001_DFA_ANG_XX.wav); the actor's sex comes from the
// corpus's VideoDemographics.csv (ActorID,Age,Sex,Race,Ethnicity), found below the folder or given.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { columnIndex, parseCsv } from './csv-text.js';
import { finishCorpus, refuseCopies, walkFiles } from './files.js';
import type { Corpus, Gender, Utterance } from './types.js';

const EMOTIONS: Record<string, string> = {
  ANG: 'angry', DIS: 'disgust', FEA: 'fear', HAP: 'happy', NEU: 'neutral', SAD: 'sad',
};
export const CREMAD_CLASSES = ['angry', 'happy', 'sad', 'neutral', 'fear', 'disgust'];

const NAME = /^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})\.wav$/i;
const DEMOGRAPHICS = 'videodemographics.csv';

async function readDemographics(csvPath: string): Promise<Map<string, Gender>> {
  const rows = parseCsv(await readFile(csvPath, 'utf8'));
  const [header, ...body] = rows;
  const actorCol = header ? columnIndex(header.fields, 'ActorID') : -1;
  const sexCol = header ? columnIndex(header.fields, 'Sex') : -1;
  if (actorCol < 0 || sexCol < 0) throw new Error(`${csvPath}: expected columns ActorID and Sex in the header`);
  const genders = new Map<string, Gender>();
  for (const { line, fields } of body) {
    const sex = fields[sexCol]?.trim().toLowerCase();
    if (sex !== 'male' && sex !== 'female') throw new Error(`${csvPath}:${line}: Sex must be Male or Female, got "${fields[sexCol] ?? ''}"`);
    genders.set(fields[actorCol].trim(), sex === 'male' ? 'm' : 'f');
  }
  return genders;
}

export async function readCremad(dir: string, demographicsCsv?: string): Promise<Corpus> {
  const files = await walkFiles(dir);
  const csvPath = demographicsCsv ?? files.find((f) => basename(f).toLowerCase() === DEMOGRAPHICS);
  if (!csvPath) {
    throw new Error(`CREMA-D: VideoDemographics.csv not found below ${dir}; it gives each actor's sex: put it below the folder (readCremad's demographicsCsv names it elsewhere)`);
  }
  const genders = await readDemographics(csvPath);
  const utterances: Utterance[] = [];
  for (const file of files) {
    const m = NAME.exec(basename(file));
    const emotion = m && EMOTIONS[m[3].toUpperCase()];
    if (!m || !emotion) continue;
    const gender = genders.get(m[1]);
    if (!gender) throw new Error(`CREMA-D: actor ${m[1]} (${file}) is not listed in ${csvPath}`);
    utterances.push({ file, emotion, speaker: m[1], gender });
  }
  refuseCopies('cremad', dir, utterances);
  return finishCorpus('cremad', dir, CREMAD_CLASSES, utterances, 'names like 1001_DFA_ANG_XX.wav');
}

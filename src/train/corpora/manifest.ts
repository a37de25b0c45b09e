// Any corpus described by a CSV manifest with the header path,emotion,speaker,gender (extra columns are
// ignored). Paths are absolute or relative to the CSV's folder; gender is f/m/female/male; the classes are
// the distinct emotions, sorted. `target` is the CSV itself or a folder holding exactly one .csv.
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { columnIndex, parseCsv } from './csv-text.js';
import { finishCorpus } from './files.js';
import type { Corpus, Gender, Utterance } from './types.js';

const COLUMNS = ['path', 'emotion', 'speaker', 'gender'] as const;
const GENDERS: Record<string, Gender> = { f: 'f', female: 'f', m: 'm', male: 'm' };

async function findManifest(target: string): Promise<string> {
  const info = await stat(target).catch(() => undefined);
  if (!info) throw new Error(`manifest not found: ${target}`);
  if (info.isFile()) return target;
  const csvs = (await readdir(target)).filter((f) => /\.csv$/i.test(f));
  if (csvs.length !== 1) {
    throw new Error(`${target}: expected exactly one .csv manifest in the folder, found ${csvs.length}${csvs.length ? ` (${csvs.join(', ')})` : ''}`);
  }
  return join(target, csvs[0]);
}

export async function readManifest(target: string): Promise<Corpus> {
  const csvPath = await findManifest(target);
  const [header, ...rows] = parseCsv(await readFile(csvPath, 'utf8'));
  const cols = COLUMNS.map((c) => (header ? columnIndex(header.fields, c) : -1));
  const missing = COLUMNS.filter((_, i) => cols[i] < 0);
  if (missing.length) throw new Error(`${csvPath}:1: header lacks column(s) ${missing.join(', ')} (expected ${COLUMNS.join(',')})`);
  const [pathCol, emotionCol, speakerCol, genderCol] = cols;
  const base = dirname(resolve(csvPath));
  const utterances: Utterance[] = rows.map(({ line, fields }) => {
    const value = (col: number, name: string) => {
      const v = fields[col]?.trim() ?? '';
      if (v === '') throw new Error(`${csvPath}:${line}: empty ${name}`);
      return v;
    };
    const genderText = value(genderCol, 'gender');
    const gender = GENDERS[genderText.toLowerCase()];
    if (!gender) throw new Error(`${csvPath}:${line}: gender must be f, m, female or male, got "${genderText}"`);
    return { file: resolve(base, value(pathCol, 'path')), emotion: value(emotionCol, 'emotion'), speaker: value(speakerCol, 'speaker'), gender };
  });
  const classes = [...new Set(utterances.map((u) => u.emotion))].sort();
  return finishCorpus('csv', csvPath, classes, utterances, `rows under the header ${COLUMNS.join(',')}`);
}

// Any corpus described by a CSV manifest with the header path,emotion,speaker,gender (extra columns are
// ignored). Paths are absolute or relative to the CSV's folder; gender is f/m/female/male; emotions are
// trimmed and lower-cased (so "Anger " and "anger" are one class); the classes are the distinct emotions,
// sorted. A file listed twice, or a speaker listed as both female and male, is refused with the lines. `target`
// is the CSV itself or a folder holding exactly one .csv.
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
  const lineOfFile = new Map<string, number>();
  const speakerGender = new Map<string, { gender: Gender; line: number; file: string }>();
  const utterances: Utterance[] = rows.map(({ line, fields }) => {
    const value = (col: number, name: string) => {
      const v = fields[col]?.trim() ?? '';
      if (v === '') throw new Error(`${csvPath}:${line}: empty ${name}`);
      return v;
    };
    const genderText = value(genderCol, 'gender');
    const gender = GENDERS[genderText.toLowerCase()];
    if (!gender) throw new Error(`${csvPath}:${line}: gender must be f, m, female or male, got "${genderText}"`);
    const file = resolve(base, value(pathCol, 'path'));
    const speaker = value(speakerCol, 'speaker');
    const earlier = lineOfFile.get(file);
    if (earlier !== undefined) throw new Error(`${csvPath}:${line}: ${file} is listed twice (lines ${earlier} and ${line}); each file must appear once`);
    lineOfFile.set(file, line);
    const known = speakerGender.get(speaker);
    if (known && known.gender !== gender) {
      throw new Error(`${csvPath}:${line}: speaker "${speaker}" is ${gender} here (${file}) but ${known.gender} on line ${known.line} (${known.file}); a speaker has one gender`);
    }
    if (!known) speakerGender.set(speaker, { gender, line, file });
    return { file, emotion: value(emotionCol, 'emotion').toLowerCase(), speaker, gender };
  });
  const classes = [...new Set(utterances.map((u) => u.emotion))].sort();
  return finishCorpus('csv', csvPath, classes, utterances, `rows under the header ${COLUMNS.join(',')}`);
}

// Corpus readers on generated fixture trees in each corpus's naming convention (nested and flat layouts,
// plus files that must be ignored), the CSV manifest, loading with skip/strict handling of bad files, and,
// when the real EMO-DB is present, a full check against its labels.csv.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import wavefile from 'wavefile';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AudioError } from '../src/audio/index.js';
import { loadCorpusAudio, readCorpus, type Corpus, type CorpusKind, type Utterance } from '../src/train/corpora/index.js';
import { corpusSpeakers, speakerFolds, type FoldScheme } from '../src/train/folds.js';
import { emoEvaluation } from './iemocap-fixture.js';
import { titleNeeding } from './skip.js';

const { WaveFile } = wavefile;

let root = '';
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ser-corpora-'));
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

let fixtureCount = 0;
/** A fresh folder with the given files: '.wav' paths get a tiny 16-bit tone, others the given text (or none). */
async function fixture(files: Record<string, string | null>): Promise<string> {
  const dir = join(root, `f${fixtureCount++}`);
  for (const [path, text] of Object.entries(files)) {
    const full = join(dir, path);
    await mkdir(dirname(full), { recursive: true });
    if (text !== null) await writeFile(full, text);
    else {
      const wav = new WaveFile();
      wav.fromScratch(1, 16000, '16', Array.from({ length: 160 }, (_, i) => Math.round(8000 * Math.sin(i / 3))));
      await writeFile(full, wav.toBuffer());
    }
  }
  return dir;
}
const wavs = (...paths: string[]) => Object.fromEntries(paths.map((p) => [p, null]));

/** Utterances as 'file-name emotion speaker gender' for compact comparison. */
const summary = (c: Corpus) => c.utterances.map((u) => `${basename(u.file)} ${u.emotion} ${u.speaker} ${u.gender}`);

describe('EMO-DB', () => {
  const names = ['03a01Fa.wav', '08b02Tc.wav', '16a05Wb.wav', '10b10Lb.wav', '13a04Eb.wav', '09a07Aa.wav', '12b01Na.wav'];
  const expected = [
    '03a01Fa.wav happy 03 m', '08b02Tc.wav sad 08 f', '09a07Aa.wav fear 09 f', '10b10Lb.wav boredom 10 m',
    '12b01Na.wav neutral 12 m', '13a04Eb.wav disgust 13 f', '16a05Wb.wav angry 16 f',
  ];
  const ignored = {
    'wav/99a01Fa.wav': null, // unknown speaker
    'wav/03a01Xa.wav': null, // unknown emotion code
    'wav/._03a01Fa.wav': null, // macOS resource fork
    'wav/03a01Fa.mp3': '',
    'README.txt': 'EMO-DB',
  };

  it('labels files from their names in the nested wav/ layout, ignoring non-matching files', async () => {
    const dir = await fixture({ ...wavs(...names.map((n) => `emodb/wav/${n}`)), ...ignored });
    const corpus = await readCorpus('emodb', dir);
    expect(corpus.name).toBe('emodb');
    expect(corpus.classes).toEqual(['angry', 'happy', 'sad', 'neutral', 'fear', 'disgust', 'boredom']);
    expect(summary(corpus)).toEqual(expected);
  });

  it('reads a flat folder the same way', async () => {
    const corpus = await readCorpus('emodb', await fixture(wavs(...names)));
    expect(summary(corpus)).toEqual(expected);
  });
});

describe('RAVDESS', () => {
  it('keeps audio-only speech from Actor_NN folders; odd actors male, even female', async () => {
    const dir = await fixture({
      ...wavs(
        'Actor_01/03-01-01-01-01-01-01.wav',
        'Actor_01/03-01-05-02-02-01-01.wav',
        'Actor_12/03-01-02-01-01-02-12.wav',
        'Actor_12/03-01-08-02-01-01-12.wav',
        'Actor_24/03-01-06-01-02-01-24.wav',
        'Actor_07/03-01-07-01-01-01-07.wav',
        'Actor_07/03-01-03-01-01-01-07.wav',
        'Actor_07/03-01-04-01-01-01-07.wav',
        'Actor_01/01-01-01-01-01-01-01.wav', // audio-video
        'Actor_01/02-01-01-01-01-01-01.wav', // video-only
        'Actor_01/03-02-01-01-01-01-01.wav', // song
        'Actor_01/03-01-09-01-01-01-01.wav', // no such emotion
        'Actor_01/03-01-01-01-01-01.wav', // too few fields
      ),
    });
    const corpus = await readCorpus('ravdess', dir);
    expect(corpus.classes).toEqual(['angry', 'happy', 'sad', 'neutral', 'fear', 'disgust', 'calm', 'surprise']);
    expect(summary(corpus)).toEqual([
      '03-01-01-01-01-01-01.wav neutral 01 m', '03-01-05-02-02-01-01.wav angry 01 m',
      '03-01-03-01-01-01-07.wav happy 07 m', '03-01-04-01-01-01-07.wav sad 07 m',
      '03-01-07-01-01-01-07.wav disgust 07 m', '03-01-02-01-01-02-12.wav calm 12 f',
      '03-01-08-02-01-01-12.wav surprise 12 f', '03-01-06-01-02-01-24.wav fear 24 f',
    ]);
    const files = corpus.utterances.map((u) => u.file);
    expect(files).toEqual([...files].sort());
  });

  it('reads a flat folder', async () => {
    const corpus = await readCorpus('ravdess', await fixture(wavs('03-01-04-02-01-01-02.wav', 'notes.wav')));
    expect(summary(corpus)).toEqual(['03-01-04-02-01-01-02.wav sad 02 f']);
  });
});

describe('CREMA-D', () => {
  const demographics = 'ActorID,Age,Sex,Race,Ethnicity\n1001,51,Male,Caucasian,Not Hispanic\n1002,21,Female,Caucasian,Not Hispanic\n';
  const files = wavs(
    'AudioWAV/1001_DFA_ANG_XX.wav',
    'AudioWAV/1001_IEO_HAP_HI.wav',
    'AudioWAV/1002_TIE_SAD_LO.wav',
    'AudioWAV/1002_ITS_NEU_XX.wav',
    'AudioWAV/1002_IWW_FEA_MD.wav',
    'AudioWAV/1001_MTI_DIS_XX.wav',
    'AudioWAV/1001_DFA_SUR_XX.wav', // not a CREMA-D emotion
    'AudioWAV/1001_DFA_ANG.wav', // missing level
  );
  const expected = [
    '1001_DFA_ANG_XX.wav angry 1001 m', '1001_IEO_HAP_HI.wav happy 1001 m', '1001_MTI_DIS_XX.wav disgust 1001 m',
    '1002_ITS_NEU_XX.wav neutral 1002 f', '1002_IWW_FEA_MD.wav fear 1002 f', '1002_TIE_SAD_LO.wav sad 1002 f',
  ];

  it('labels from the names and takes the sex from VideoDemographics.csv found below the folder', async () => {
    const dir = await fixture({ ...files, 'meta/VideoDemographics.csv': demographics });
    const corpus = await readCorpus('cremad', dir);
    expect(corpus.classes).toEqual(['angry', 'happy', 'sad', 'neutral', 'fear', 'disgust']);
    expect(summary(corpus)).toEqual(expected);
  });

  it('accepts the demographics file from elsewhere, and says clearly when it is missing or incomplete', async () => {
    const dir = await fixture(files);
    await expect(readCorpus('cremad', dir)).rejects.toThrow(/VideoDemographics\.csv not found below .*f\d+/);
    const elsewhere = await fixture({ 'VideoDemographics.csv': demographics });
    const corpus = await readCorpus('cremad', dir, { demographicsCsv: join(elsewhere, 'VideoDemographics.csv') });
    expect(summary(corpus)).toEqual(expected);
    const partial = await fixture({ ...files, 'VideoDemographics.csv': 'ActorID,Age,Sex,Race,Ethnicity\n1001,51,Male,x,y\n' });
    await expect(readCorpus('cremad', partial)).rejects.toThrow(/actor 1002 .* is not listed in .*VideoDemographics\.csv/);
    const bad = await fixture({ ...files, 'VideoDemographics.csv': 'ActorID,Age,Sex\n1001,51,Male\n1002,21,Other\n' });
    await expect(readCorpus('cremad', bad)).rejects.toThrow(/VideoDemographics\.csv:3: Sex must be Male or Female/);
  });
});

describe('IEMOCAP', () => {
  const labels = emoEvaluation;
  const session1 = labels(
    ['Ses01F_impro01_F000', 'neu'],
    ['Ses01F_impro01_M003', 'ang'],
    ['Ses01F_impro01_F001', 'exc'],
    ['Ses01F_impro01_M004', 'fru'],
    ['Ses01F_impro01_F002', 'xxx'],
    ['Ses01F_impro01_M005', 'sad'],
    ['Ses01F_impro01_F009', 'hap'], // labelled but its wav is missing: skipped
  );
  const session2 = labels(['Ses02M_script01_1_F012', 'sur'], ['Ses02M_script01_1_M001', 'hap']);
  const utts = ['Ses01F_impro01_F000', 'Ses01F_impro01_M003', 'Ses01F_impro01_F001', 'Ses01F_impro01_M004', 'Ses01F_impro01_F002', 'Ses01F_impro01_M005'];
  const nested = {
    'IEMOCAP_full_release/Session1/dialog/EmoEvaluation/Ses01F_impro01.txt': session1,
    'IEMOCAP_full_release/Session1/dialog/EmoEvaluation/Categorical/Ses01F_impro01_e2_cat.txt': 'Ses01F_impro01_F000 :Neutral state; ()\n',
    'IEMOCAP_full_release/Session1/dialog/transcriptions/Ses01F_impro01.txt': 'Ses01F_impro01_F000 [006.2901-008.2357]: Excuse me.\n',
    'IEMOCAP_full_release/Session1/dialog/wav/Ses01F_impro01.wav': null, // the whole dialog: not an utterance
    'IEMOCAP_full_release/Session2/dialog/EmoEvaluation/Ses02M_script01_1.txt': session2,
    ...wavs(...utts.map((u) => `IEMOCAP_full_release/Session1/sentences/wav/Ses01F_impro01/${u}.wav`)),
    ...wavs('IEMOCAP_full_release/Session2/sentences/wav/Ses02M_script01_1/Ses02M_script01_1_F012.wav'),
    ...wavs('IEMOCAP_full_release/Session2/sentences/wav/Ses02M_script01_1/Ses02M_script01_1_M001.wav'),
  };

  it('takes labels from EmoEvaluation files and the usual 4 classes, excited merged into happy', async () => {
    const corpus = await readCorpus('iemocap', await fixture(nested));
    expect(corpus.classes).toEqual(['angry', 'happy', 'sad', 'neutral']);
    expect(summary(corpus)).toEqual([
      'Ses01F_impro01_F000.wav neutral Ses01F f', 'Ses01F_impro01_F001.wav happy Ses01F f',
      'Ses01F_impro01_M003.wav angry Ses01M m', 'Ses01F_impro01_M005.wav sad Ses01M m',
      'Ses02M_script01_1_M001.wav happy Ses02M m',
    ]);
  });

  it('keeps the utterances outside the classes apart, unscored, with their own labels, and loads them', async () => {
    const unscored = (c: Corpus) => (c.unscored ?? []).map((u) => `${basename(u.file)} ${u.emotion} ${u.speaker} ${u.gender} ${u.group}`);
    const dir = await fixture(nested);
    const corpus = await readCorpus('iemocap', dir);
    expect(unscored(corpus)).toEqual([
      'Ses01F_impro01_F002.wav xxx Ses01F f Ses01', 'Ses01F_impro01_M004.wav frustrated Ses01M m Ses01',
      'Ses02M_script01_1_F012.wav surprise Ses02F f Ses02',
    ]);
    expect(unscored(await readCorpus('iemocap', dir, { fourClass: false }))).toEqual(['Ses01F_impro01_F002.wav xxx Ses01F f Ses01']);
    const loaded = await loadCorpusAudio(corpus, { sampleRate: 16000 });
    expect(loaded.utterances.length).toBe(5);
    expect(loaded.unscored.map((u) => [basename(u.file), u.samples.length])).toEqual([
      ['Ses01F_impro01_F002.wav', 160], ['Ses01F_impro01_M004.wav', 160], ['Ses02M_script01_1_F012.wav', 160],
    ]);
  });

  it('can keep excited apart, or keep every labelled category', async () => {
    const dir = await fixture(nested);
    const noMerge = await readCorpus('iemocap', dir, { mergeExcited: false });
    expect(noMerge.classes).toEqual(['angry', 'happy', 'sad', 'neutral']);
    expect(noMerge.utterances.map((u) => u.emotion)).toEqual(['neutral', 'angry', 'sad', 'happy']);
    const all = await readCorpus('iemocap', dir, { fourClass: false, mergeExcited: false });
    expect(all.classes).toEqual(['angry', 'happy', 'sad', 'neutral', 'excited', 'fear', 'disgust', 'surprise', 'frustrated']);
    expect(all.utterances.map((u) => u.emotion)).toEqual(['neutral', 'excited', 'angry', 'frustrated', 'sad', 'surprise', 'happy']);
    const merged = await readCorpus('iemocap', dir, { fourClass: false });
    expect(merged.classes).not.toContain('excited');
  });

  it('finds labels and wavs in a flat folder', async () => {
    const dir = await fixture({ 'labels.txt': session2, ...wavs('Ses02M_script01_1_F012.wav', 'Ses02M_script01_1_M001.wav') });
    expect(summary(await readCorpus('iemocap', dir, { fourClass: false }))).toEqual([
      'Ses02M_script01_1_F012.wav surprise Ses02F f', 'Ses02M_script01_1_M001.wav happy Ses02M m',
    ]);
  });

  /** Five sessions of one improvised dialogue each, two utterances per actor, in the release layout. */
  const fiveSessions = () => {
    const files: Record<string, string | null> = {};
    for (let n = 1; n <= 5; n++) {
      const dialog = `Ses0${n}F_impro01`;
      const names = ['F000', 'M000', 'F001', 'M001'].map((t) => `${dialog}_${t}`);
      files[`IEMOCAP_full_release/Session${n}/dialog/EmoEvaluation/${dialog}.txt`] = labels(...names.map((u, i): [string, string] => [u, ['ang', 'sad', 'neu', 'hap'][i]]));
      Object.assign(files, wavs(...names.map((u) => `IEMOCAP_full_release/Session${n}/sentences/wav/${dialog}/${u}.wav`)));
    }
    return files;
  };

  it('splits by session: no fold puts the two actors of one session on both sides, and 5 folds leave one session out', async () => {
    const corpus = await readCorpus('iemocap', await fixture(fiveSessions()));
    expect(new Set(corpus.utterances.map((u) => `${u.speaker} ${u.group}`)).size).toBe(10);
    expect(corpus.utterances.every((u) => u.group === u.speaker.slice(0, 5))).toBe(true);
    const session = (id: string) => id.slice(0, 5);
    for (const scheme of [{ kind: 'kfold', k: 5 }, { kind: 'loso' }, { kind: 'pairs' }] as FoldScheme[]) {
      for (const seed of [1, 2, 3]) {
        for (const validationSpeakers of [0, 1]) {
          const folds = speakerFolds(corpusSpeakers(corpus.utterances), scheme, { seed, validationSpeakers });
          expect(folds.length).toBe(5);
          for (const fold of folds) {
            const tested = new Set(fold.testSpeakers.map(session));
            expect(tested.size).toBe(1);
            expect([...fold.trainSpeakers, ...fold.validationSpeakers].filter((id) => tested.has(session(id)))).toEqual([]);
          }
        }
      }
    }
  });

  it('explains when labels exist but no wav matches', async () => {
    const dir = await fixture({ 'Session2/dialog/EmoEvaluation/Ses02M_script01_1.txt': session2 });
    await expect(readCorpus('iemocap', dir)).rejects.toThrow(/2 labelled utterances .* none with a kept emotion and a matching/);
  });
});

describe('CASIA', () => {
  it('takes speaker and emotion from the two nearest folders, case-insensitively', async () => {
    const dir = await fixture({
      ...wavs('CASIA/liuchanhg/angry/201.wav', 'CASIA/wangzhe/Happy/202.wav', 'CASIA/ZhaoZuoxiang/sad/203.wav'),
      ...wavs('CASIA/zhaoquanyin/surprise/204.wav', 'CASIA/zhaoquanyin/fear/205.wav', 'CASIA/wangzhe/neutral/206.wav'),
      ...wavs('CASIA/wangzhe/bored/207.wav', 'CASIA/someone/angry/208.wav', 'CASIA/angry/209.wav'),
      'CASIA/wangzhe/angry/201.txt': 'transcript',
    });
    const corpus = await readCorpus('casia', dir);
    expect(corpus.classes).toEqual(['angry', 'happy', 'sad', 'neutral', 'fear', 'surprise']);
    expect(corpus.utterances.map((u) => `${u.file.split('/').slice(-3).join('/')} ${u.emotion} ${u.speaker} ${u.gender}`)).toEqual([
      'ZhaoZuoxiang/sad/203.wav sad ZhaoZuoxiang m', 'liuchanhg/angry/201.wav angry liuchanhg f',
      'wangzhe/Happy/202.wav happy wangzhe m', 'wangzhe/neutral/206.wav neutral wangzhe m',
      'zhaoquanyin/fear/205.wav fear zhaoquanyin f', 'zhaoquanyin/surprise/204.wav surprise zhaoquanyin f',
    ]);
  });

  it("reads the full release's 100-sentence part, whose folders are Chang.Liu etc. and say normal for neutral", async () => {
    const dir = await fixture(wavs(
      'CASIA/相同文本300/liuchanhg/neutral/201.wav', 'CASIA/不同文本100/Chang.Liu/normal/001.wav',
      'CASIA/不同文本100/Zuoxiang.Zhao/angry/001.wav', 'CASIA/不同文本100/Zhe.Wang/normal/002.wav',
    ));
    expect(summary(await readCorpus('casia', dir))).toEqual([
      '001.wav neutral liuchanhg f', '002.wav neutral wangzhe m', '001.wav angry ZhaoZuoxiang m', '201.wav neutral liuchanhg f',
    ]);
  });

  it("skips macOS's hidden AppleDouble copies (._201.wav, __MACOSX/) that sit in the same folders", async () => {
    const dir = await fixture({
      ...wavs('CASIA/wangzhe/angry/201.wav', 'CASIA/wangzhe/angry/._201.wav', '__MACOSX/CASIA/wangzhe/angry/._201.wav'),
      ...wavs('CASIA/6/sad/201-sad-zhaoquanyin.wav', 'CASIA/6/sad/._201-sad-zhaoquanyin.wav'),
    });
    expect(summary(await readCorpus('casia', dir))).toEqual(['201-sad-zhaoquanyin.wav sad zhaoquanyin f', '201.wav angry wangzhe m']);
  });

  it('recognises renamed flat copies from the file-name tokens', async () => {
    const dir = await fixture(wavs('201-sad-zhaoquanyin.wav', 'wangzhe_angry_202.wav', '203.wav'));
    expect(summary(await readCorpus('casia', dir))).toEqual([
      '201-sad-zhaoquanyin.wav sad zhaoquanyin f', 'wangzhe_angry_202.wav angry wangzhe m',
    ]);
  });
});

describe('CSV manifest', () => {
  it('reads relative and absolute paths, gender spellings, quoted fields; classes sorted', async () => {
    const dir = await fixture(wavs('audio/a.wav', 'audio/b, c.wav', 'audio/d.wav'));
    const absolute = join(dir, 'audio', 'd.wav');
    const csv = ['path,emotion,speaker,gender,notes', `audio/a.wav,sad,spk1,Female,x`, `"audio/b, c.wav",angry,spk2,m,`, `${absolute},calm,spk1,f,""`, ''].join('\r\n');
    await writeFile(join(dir, 'manifest.csv'), csv);
    for (const target of [join(dir, 'manifest.csv'), dir]) {
      const corpus = await readCorpus('csv', target);
      expect(corpus.classes).toEqual(['angry', 'calm', 'sad']);
      expect(corpus.utterances.map((u) => [u.file, u.emotion, u.speaker, u.gender])).toEqual([
        [join(dir, 'audio', 'a.wav'), 'sad', 'spk1', 'f'],
        [join(dir, 'audio', 'b, c.wav'), 'angry', 'spk2', 'm'],
        [join(dir, 'audio', 'd.wav'), 'calm', 'spk1', 'f'],
      ]);
    }
  });

  it('names the file and line of a bad row, a bad header, and ambiguous folders', async () => {
    const dir = await fixture({ 'm.csv': 'path,emotion,speaker,gender\na.wav,sad,s1,f\nb.wav,sad,s1,x\n' });
    await expect(readCorpus('csv', dir)).rejects.toThrow(/m\.csv:3: gender must be f, m, female or male, got "x"/);
    const empty = await fixture({ 'm.csv': 'path,emotion,speaker,gender\na.wav,,s1,f\n' });
    await expect(readCorpus('csv', empty)).rejects.toThrow(/m\.csv:2: empty emotion/);
    const header = await fixture({ 'm.csv': 'file,label\na.wav,sad\n' });
    await expect(readCorpus('csv', header)).rejects.toThrow(/m\.csv:1: header lacks column\(s\) path, emotion, speaker, gender/);
    const two = await fixture({ 'a.csv': '', 'b.csv': '' });
    await expect(readCorpus('csv', two)).rejects.toThrow(/expected exactly one \.csv manifest .* found 2 \(a\.csv, b\.csv\)/);
    const none = await fixture({ 'm.csv': 'path,emotion,speaker,gender\n' });
    await expect(readCorpus('csv', none)).rejects.toThrow(/no csv utterances found below .*m\.csv/);
  });

  it('normalises emotion labels: "Anger ", "anger" and "ANGER" are one class', async () => {
    const dir = await fixture({ 'm.csv': 'path,emotion,speaker,gender\na.wav,Anger ,s1,f\nb.wav,anger,s1,f\nc.wav, ANGER,s2,m\nd.wav,Sad,s2,m\n' });
    const corpus = await readCorpus('csv', dir);
    expect(corpus.classes).toEqual(['anger', 'sad']);
    expect(corpus.utterances.map((u) => u.emotion)).toEqual(['anger', 'anger', 'anger', 'sad']);
  });

  it('refuses a file listed twice, naming it and both lines', async () => {
    const dir = await fixture({ 'm.csv': 'path,emotion,speaker,gender\na.wav,sad,s1,f\nb.wav,sad,s1,f\n./a.wav,angry,s1,f\n' });
    await expect(readCorpus('csv', dir)).rejects.toThrow(/m\.csv:4: .*a\.wav is listed twice \(lines 2 and 4\)/);
  });

  it('refuses a speaker listed as both female and male, naming the speaker, files and lines', async () => {
    const dir = await fixture({ 'm.csv': 'path,emotion,speaker,gender\na.wav,sad,s1,f\nb.wav,sad,s2,m\nc.wav,angry,s1,male\n' });
    await expect(readCorpus('csv', dir)).rejects.toThrow(/m\.csv:4: speaker "s1" is m here \(.*c\.wav\) but f on line 2 \(.*a\.wav\)/);
  });
});

describe('every reader', () => {
  it.each<CorpusKind>(['emodb', 'ravdess', 'cremad', 'iemocap', 'casia'])('%s: an empty folder is an error naming it', async (kind) => {
    const dir = await fixture({ 'unrelated.txt': 'nothing here', 'VideoDemographics.csv': 'ActorID,Age,Sex\n' });
    await expect(readCorpus(kind, dir)).rejects.toThrow(new RegExp(`no ${kind} utterances found below ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  });

  it('a missing folder is an error naming it', async () => {
    await expect(readCorpus('emodb', join(root, 'nope'))).rejects.toThrow(/cannot read corpus folder .*nope/);
  });

  // Kaggle's RAVDESS download holds its 1440 files twice, in Actor_NN/ and in audio_speech_actors_01-24/Actor_NN/.
  it.each<[CorpusKind, string[], Record<string, string>, string]>([
    ['ravdess', ['Actor_01/03-01-05-01-01-01-01.wav', 'audio_speech_actors_01-24/Actor_01/03-01-05-01-01-01-01.wav'], {}, '03-01-05-01-01-01-01.wav'],
    ['emodb', ['wav/03a01Fa.wav', 'backup/wav/03a01Fa.wav'], {}, '03a01Fa.wav'],
    ['cremad', ['AudioWAV/1001_DFA_ANG_XX.wav', 'copy/AudioWAV/1001_DFA_ANG_XX.wav'], { 'VideoDemographics.csv': 'ActorID,Sex\n1001,Male\n' }, '1001_DFA_ANG_XX.wav'],
    // CASIA's names repeat across its speaker/emotion folders, so a copy is the same folders and name found twice.
    ['casia', ['CASIA/wangzhe/angry/201.wav', 'backup/CASIA/wangzhe/angry/201.wav'], {}, '201.wav'],
    ['casia', ['CASIA/wangzhe/angry/201.WAV', 'CASIA/wangzhe/angry/201.wav'], {}, '201.wav'],
    ['casia', ['CASIA/6/sad/201-sad-zhaoquanyin.wav', '201-sad-zhaoquanyin.wav'], {}, '201-sad-zhaoquanyin.wav'],
  ])('%s: a recording found twice (a second copy of the corpus) is refused, naming both files', async (kind, copies, extra, name) => {
    const dir = await fixture({ ...wavs(...copies), ...extra });
    const both = copies.map((c) => join(dir, c).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).sort();
    await expect(readCorpus(kind, dir)).rejects.toThrow(new RegExp(`${name.replace('.', '\\.')} is found twice below .*: ${both[0]} and ${both[1]}`));
  });
});

describe('loadCorpusAudio', () => {
  it('loads good files, reports and skips bad ones, and counts progress', async () => {
    const dir = await fixture({ ...wavs('03a01Fa.wav', '08a01Ta.wav'), '09a01Na.wav': 'not audio', '10a01Wa.wav': '' });
    const corpus = await readCorpus('emodb', dir);
    const progress: [number, number][] = [];
    const { utterances, skipped } = await loadCorpusAudio(corpus, { sampleRate: 8000, onProgress: (d, t) => progress.push([d, t]) });
    expect(utterances.map((u) => basename(u.file))).toEqual(['03a01Fa.wav', '08a01Ta.wav']);
    expect(utterances[0]).toMatchObject({ emotion: 'happy', speaker: '03', gender: 'm' });
    expect(utterances[0].samples).toHaveLength(80);
    expect(skipped).toEqual([
      { file: join(dir, '09a01Na.wav'), reason: `${join(dir, '09a01Na.wav')}: not a WAV file (no RIFF/WAVE header)` },
      { file: join(dir, '10a01Wa.wav'), reason: `${join(dir, '10a01Wa.wav')}: empty file (0 bytes)` },
    ]);
    expect(progress).toEqual([[1, 4], [2, 4], [3, 4], [4, 4]]);
  });

  it('skips a file whose header declares an absurd sample rate (2 GHz, 1 Hz, 0), naming it and the accepted range', async () => {
    const dir = await fixture(wavs('03a01Fa.wav', '08a01Ta.wav', '09a01Na.wav', '10a01Wa.wav'));
    const withRate = async (name: string, rate: number) => {
      const bytes = await readFile(join(dir, name));
      bytes.writeUInt32LE(rate, 24);
      bytes.writeUInt32LE((rate * 2) >>> 0, 28);
      await writeFile(join(dir, name), bytes);
    };
    await withRate('08a01Ta.wav', 2_000_000_000);
    await withRate('09a01Na.wav', 1);
    await withRate('10a01Wa.wav', 0);
    const { utterances, skipped } = await loadCorpusAudio(await readCorpus('emodb', dir), { sampleRate: 16000 });
    expect(utterances.map((u) => basename(u.file))).toEqual(['03a01Fa.wav']);
    expect(skipped).toEqual(
      [['08a01Ta.wav', 2_000_000_000], ['09a01Na.wav', 1], ['10a01Wa.wav', 0]].map(([name, rate]) => ({
        file: join(dir, name as string),
        reason: `${join(dir, name as string)}: unsupported sample rate: ${rate} Hz (accepted: 1000 to 768000 Hz)`,
      })),
    );
  });

  it('throws the first AudioError in strict mode', async () => {
    const dir = await fixture({ ...wavs('03a01Fa.wav'), '08a01Ta.wav': 'RIFF' });
    const corpus = await readCorpus('emodb', dir);
    await expect(loadCorpusAudio(corpus, { sampleRate: 16000, strict: true })).rejects.toThrow(AudioError);
    await expect(loadCorpusAudio(corpus, { sampleRate: 16000, strict: true })).rejects.toThrow(/08a01Ta\.wav: not a WAV file/);
  });
});

const EMODB = '/work/shared/data/emodb';
const hasEmodb = existsSync(join(EMODB, 'labels.csv'));
describe.skipIf(!hasEmodb)(titleNeeding(hasEmodb, 'the real EMO-DB', `no ${join(EMODB, 'labels.csv')}`), () => {
  const labelName: Record<string, string> = { anger: 'angry', happiness: 'happy', sadness: 'sad', boredom: 'boredom', neutral: 'neutral', fear: 'fear', disgust: 'disgust' };
  const count = (us: Utterance[], key: 'emotion' | 'gender') =>
    Object.fromEntries([...new Set(us.map((u) => u[key]))].sort().map((k) => [k, us.filter((u) => u[key] === k).length]));

  it('reads 535 utterances that agree with labels.csv, and every file decodes', async () => {
    const corpus = await readCorpus('emodb', EMODB);
    expect(corpus.utterances).toHaveLength(535);
    const [header, ...rows] = (await readFile(join(EMODB, 'labels.csv'), 'utf8')).trim().split(/\r?\n/).map((l) => l.split(','));
    const col = (name: string) => header.indexOf(name);
    const truth = new Map(rows.map((r) => [basename(r[col('file')]), r]));
    for (const u of corpus.utterances) {
      const row = truth.get(basename(u.file));
      expect(row, u.file).toBeDefined();
      expect([u.speaker, u.gender, u.emotion]).toEqual([row![col('speaker')], row![col('gender')], labelName[row![col('emotion')]]]);
    }
    expect(count(corpus.utterances, 'emotion')).toEqual({ angry: 127, boredom: 81, neutral: 79, happy: 71, fear: 69, sad: 62, disgust: 46 });
    expect(count(corpus.utterances, 'gender')).toEqual({ f: 302, m: 233 });

    const started = performance.now();
    const { utterances, skipped } = await loadCorpusAudio(corpus, { sampleRate: 16000, strict: true });
    const seconds = (performance.now() - started) / 1000;
    expect(skipped).toEqual([]);
    expect(utterances).toHaveLength(535);
    const minutes = utterances.reduce((s, u) => s + u.samples.length, 0) / 16000 / 60;
    expect(minutes).toBeCloseTo(24.8, 0);
    for (const u of utterances) expect(Number.isFinite(u.samples[0]) && u.samples.length > 16000).toBe(true);
    expect(seconds).toBeLessThan(20); // a few seconds normally; generous for loaded CI machines
  });
});

// The WAV files panel: picked or dropped files are decoded in the page and classified one after another;
// each gets its probabilities, and the gender it was classified with (given, or the gender head's guess).

import type { Classification } from '../src/embed.js';
import type { App } from './app.js';
import { $ } from './dom.js';
import { renderBars } from './chart.js';

export interface FileResult {
  name: string;
  result?: Classification;
  error?: string;
  ms?: number;
}

export function setupFilesPanel(app: App): FileResult[] {
  const results: FileResult[] = [];
  const zone = $('drop-zone');
  const list = $('file-results');
  let queue = Promise.resolve();

  const classifyFiles = (files: Iterable<File>) => {
    for (const file of files) {
      queue = queue.then(async () => {
        const item = document.createElement('li');
        list.prepend(item);
        const entry: FileResult = { name: file.name };
        try {
          const recognizer = app.recognizer;
          if (!recognizer) throw new Error('no model loaded: load a checkpoint or train one first');
          // classifyWav refuses a file over the command line's size limit before reading it.
          // A model loaded meanwhile must not dispose this one under the file.
          const release = app.hold(recognizer);
          const started = performance.now();
          try {
            entry.result = await recognizer.classifyWav(file, { gender: app.gender(), name: file.name });
          } finally {
            release();
          }
          entry.ms = performance.now() - started;
          show(item, entry);
        } catch (e) {
          entry.error = (e as Error).message;
          show(item, entry);
        }
        results.push(entry);
      });
    }
  };

  $<HTMLInputElement>('wav-input').addEventListener('change', (ev) => {
    const input = ev.target as HTMLInputElement;
    classifyFiles([...(input.files ?? [])]);
    input.value = '';
  });
  zone.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (ev) => {
    ev.preventDefault();
    zone.classList.remove('over');
    classifyFiles([...(ev.dataTransfer?.files ?? [])]);
  });
  return results;
}

function show(item: HTMLElement, entry: FileResult): void {
  const title = document.createElement('div');
  const name = document.createElement('span');
  name.className = 'name';
  name.textContent = entry.name;
  title.append(name);
  if (entry.error || !entry.result) {
    const error = document.createElement('span');
    error.className = 'error';
    error.textContent = ` ${entry.error}`;
    title.append(error);
    item.replaceChildren(title);
    return;
  }
  const r = entry.result;
  const gender = r.genderGiven ? `gender given: ${r.gender}` : `gender guessed: ${r.gender} (${(100 * r.genderProbabilities[r.gender]).toFixed(0)}%)`;
  title.append(` → ${r.emotion} · ${gender} · ${entry.ms?.toFixed(0)} ms`);
  const bars = document.createElement('div');
  bars.className = 'bars';
  renderBars(bars, r.probabilities);
  item.replaceChildren(title, bars);
  if (r.warning) {
    const warning = document.createElement('div');
    warning.className = 'error';
    warning.textContent = r.warning;
    item.append(warning);
  }
}

// Experiment reports in Markdown: WA/UA per condition, per-class F1, confusion matrices, notes and figures (the
// charts themselves are src/io/svg-charts.ts). Pure and browser-usable.

import { percent } from '../io/svg-charts.js';
import type { ClassificationReport } from './metrics.js';

function escapeMarkdown(content: string): string {
  return content.replace(/[\\`*_[\]]/g, '\\$&');
}

function markdownCell(content: string): string {
  return content.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function markdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map(markdownCell).join(' | ')} |`;
  return [line(header), `|${header.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`, ...rows.map(line)].join('\n');
}

export interface ReportCondition {
  name: string;
  report: ClassificationReport;
  /** Accuracy of an auxiliary gender head, where the model has one. */
  genderHeadAccuracy?: number;
}

/** Markdown summary: WA/UA per condition, per-class F1, confusion matrices, notes and images. */
export function markdownReport(input: {
  title: string;
  classes: string[];
  conditions: ReportCondition[];
  notes?: string[];
  images?: { caption: string; file: string }[];
}): string {
  const { classes, conditions } = input;
  const withGender = conditions.some((c) => c.genderHeadAccuracy !== undefined);
  const sections: string[] = [`# ${input.title}`];

  const summaryHeader = ['Condition', 'N', 'WA', 'UA', ...(withGender ? ['Gender head'] : [])];
  const summaryRows = conditions.map((c) => [
    c.name,
    String(c.report.n),
    percent(c.report.wa),
    percent(c.report.ua),
    ...(withGender ? [c.genderHeadAccuracy === undefined ? '–' : percent(c.genderHeadAccuracy)] : []),
  ]);
  sections.push('## Summary', 'WA = weighted accuracy (overall), UA = unweighted accuracy (mean per-class recall).', markdownTable(summaryHeader, summaryRows));

  // A class with no true utterances (one fold's speaker without it) has no F1: '–', not the 0 the report holds.
  const f1Rows = classes.map((name) => [name, ...conditions.map((c) => (c.report.support[name] > 0 ? percent(c.report.f1[name]) : '–'))]);
  sections.push('## Per-class F1', markdownTable(['Class', ...conditions.map((c) => c.name)], f1Rows));

  sections.push('## Confusion matrices', 'Rows: true class; columns: predicted class.');
  for (const c of conditions) {
    const rows = c.report.confusion.map((row, r) => [c.report.classes[r], ...row.map(String)]);
    sections.push(`### ${markdownCell(c.name)}`, markdownTable(['true \\ predicted', ...c.report.classes], rows));
  }

  if (input.images?.length) {
    sections.push('## Figures', ...input.images.map((image) => `![${escapeMarkdown(image.caption)}](${encodeURI(image.file)})\n\n*${escapeMarkdown(image.caption)}*`));
  }
  if (input.notes?.length) sections.push('## Notes', input.notes.map((note) => `- ${note}`).join('\n'));
  return sections.join('\n\n') + '\n';
}

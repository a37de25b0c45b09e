// Charts as self-contained SVG strings (confusion heat map, line chart, grouped bar chart), for experiment
// reports and the benchmark's figures alike. Pure and browser-usable; callers decide where the strings go
// (files in Node, innerHTML in the browser).

// Okabe-Ito: distinguishable under the common colour-vision deficiencies.
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#000000'];
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';
// No text metrics without a DOM; this average glyph width of a 12px sans font sizes margins.
const CHAR_WIDTH = 7;

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

const round = (value: number) => Math.round(value * 100) / 100;

export function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

function svgDocument(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${round(width)}" height="${round(height)}" viewBox="0 0 ${round(width)} ${round(height)}" ${FONT} font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${round(width / 2)}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    ...body,
    '</svg>',
  ].join('\n');
}

function text(x: number, y: number, content: string, attributes = ''): string {
  return `<text x="${round(x)}" y="${round(y)}"${attributes ? ' ' + attributes : ''}>${escapeXml(content)}</text>`;
}

/** Interpolates white → deep blue; shade in [0, 1]. */
function heatColour(shade: number): string {
  const from = [255, 255, 255];
  const to = [8, 48, 107];
  const [r, g, b] = from.map((f, i) => Math.round(f + (to[i] - f) * shade));
  return `rgb(${r},${g},${b})`;
}

/**
 * Confusion matrix heat map: counts in the cells, shading by the row-normalised fraction (the
 * per-class recall view, so rare classes are as visible as common ones), class names on both axes.
 */
export function confusionMatrixSvg(report: { classes: string[]; confusion: number[][] }, title: string): string {
  const { classes, confusion } = report;
  const cell = 52;
  const longestName = Math.max(...classes.map((c) => c.length), 4);
  const left = 40 + longestName * CHAR_WIDTH;
  const top = 50;
  const bottom = 30 + longestName * CHAR_WIDTH * 0.75;
  const size = cell * classes.length;
  const body: string[] = [];

  confusion.forEach((row, r) => {
    const rowTotal = row.reduce((sum, count) => sum + count, 0);
    row.forEach((count, c) => {
      const fraction = rowTotal > 0 ? count / rowTotal : 0;
      const x = left + c * cell;
      const y = top + r * cell;
      const tooltip = `true ${classes[r]}, predicted ${classes[c]}: ${count} (${percent(fraction)} of row)`;
      body.push(
        `<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${heatColour(fraction)}" stroke="#cccccc"><title>${escapeXml(tooltip)}</title></rect>`,
        text(x + cell / 2, y + cell / 2 + 4, String(count), `text-anchor="middle" fill="${fraction > 0.5 ? '#ffffff' : '#000000'}"`),
      );
    });
    body.push(text(left - 6, top + r * cell + cell / 2 + 4, classes[r], 'text-anchor="end"'));
  });
  classes.forEach((name, c) => {
    const x = left + c * cell + cell / 2;
    const y = top + size + 14;
    body.push(text(x, y, name, `text-anchor="end" transform="rotate(-40 ${round(x)} ${round(y)})"`));
  });
  body.push(
    text(left + size / 2, top + size + bottom, 'Predicted', 'text-anchor="middle" font-weight="bold"'),
    text(14, top + size / 2, 'True', `text-anchor="middle" font-weight="bold" transform="rotate(-90 14 ${round(top + size / 2)})"`),
  );
  return svgDocument(left + size + 20, top + size + bottom + 14, title, body);
}

/** Round tick values covering [min, max], about `count` of them (1, 2 or 5 times a power of ten). */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const step = niceStep(min, max, count);
  const first = Math.ceil(min / step) * step;
  const ticks: number[] = [];
  // Counted, not summed: for values a few ulps apart (0.3 and 0.1 + 0.2) the step is below half an ulp, and
  // `t += step` never changed t, so the loop filled memory. A tick the precision cannot tell apart is one tick.
  for (let i = 0; first + i * step <= max + step * 1e-9; i++) {
    const t = Number((first + i * step).toPrecision(12));
    if (ticks.at(-1) !== t) ticks.push(t);
  }
  return ticks;
}

function niceStep(min: number, max: number, count: number): number {
  const rawStep = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(rawStep));
  return [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rawStep * (1 - 1e-9)) ?? 10 * magnitude;
}

/** Widens [min, max] to whole tick steps so the axis starts and ends on a labelled tick. */
function niceDomain(min: number, max: number): { lo: number; hi: number; ticks: number[] } {
  // Values a few ulps apart are a flat series too: spread over the whole axis, rounding noise looked like a swing.
  if (!(max - min > Math.max(Math.abs(min), Math.abs(max)) * 1e-12)) [min, max] = [min - 1, max + 1];
  const step = niceStep(min, max, 5);
  const lo = Math.floor(min / step + 1e-9) * step;
  const hi = Math.ceil(max / step - 1e-9) * step;
  return { lo, hi, ticks: niceTicks(lo, hi) };
}

function formatTick(value: number): string {
  return Math.abs(value) >= 1e5 || (value !== 0 && Math.abs(value) < 1e-3) ? value.toExponential(1) : String(Number(value.toPrecision(6)));
}

interface Frame {
  left: number;
  top: number;
  width: number;
  height: number;
}

function yAxis(frame: Frame, ticks: number[], toY: (v: number) => number, label: string): string[] {
  const out = ticks.flatMap((t) => [
    `<line x1="${frame.left}" y1="${round(toY(t))}" x2="${frame.left + frame.width}" y2="${round(toY(t))}" stroke="#e5e5e5"/>`,
    text(frame.left - 6, toY(t) + 4, formatTick(t), 'text-anchor="end"'),
  ]);
  const midY = frame.top + frame.height / 2;
  out.push(
    `<line x1="${frame.left}" y1="${frame.top}" x2="${frame.left}" y2="${frame.top + frame.height}" stroke="#333333"/>`,
    text(16, midY, label, `text-anchor="middle" transform="rotate(-90 16 ${round(midY)})"`),
  );
  return out;
}

function legend(names: string[], x: number, y: number): string[] {
  return names.flatMap((name, i) => [
    `<rect x="${x}" y="${y + i * 18}" width="12" height="12" fill="${PALETTE[i % PALETTE.length]}"/>`,
    text(x + 18, y + i * 18 + 10, name),
  ]);
}

/** Line chart of several series (e.g. training and validation loss per epoch), with a legend. */
export function lineChartSvg(
  series: { name: string; points: [number, number][] }[],
  opts: { title: string; xLabel: string; yLabel: string },
): string {
  const finite = series.map((s) => ({ ...s, points: s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)) }));
  const all = finite.flatMap((s) => s.points);
  const legendWidth = 48 + Math.max(0, ...series.map((s) => s.name.length)) * CHAR_WIDTH;
  const frame: Frame = { left: 70, top: 40, width: 520, height: 300 };
  const width = frame.left + frame.width + legendWidth;
  const height = frame.top + frame.height + 50;
  if (all.length === 0) {
    return svgDocument(width, height, opts.title, [text(width / 2, height / 2, 'no data', 'text-anchor="middle" fill="#777777"')]);
  }

  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  const [xMin, xMax] = Math.max(...xs) > Math.min(...xs) ? [Math.min(...xs), Math.max(...xs)] : [Math.min(...xs) - 1, Math.max(...xs) + 1];
  const { lo: yMin, hi: yMax, ticks: yTicks } = niceDomain(Math.min(...ys), Math.max(...ys));
  const toX = (x: number) => frame.left + ((x - xMin) / (xMax - xMin)) * frame.width;
  const toY = (y: number) => frame.top + frame.height - ((y - yMin) / (yMax - yMin)) * frame.height;

  const body = yAxis(frame, yTicks, toY, opts.yLabel);
  const axisY = frame.top + frame.height;
  body.push(`<line x1="${frame.left}" y1="${axisY}" x2="${frame.left + frame.width}" y2="${axisY}" stroke="#333333"/>`);
  for (const t of niceTicks(xMin, xMax, 8)) {
    body.push(`<line x1="${round(toX(t))}" y1="${axisY}" x2="${round(toX(t))}" y2="${axisY + 4}" stroke="#333333"/>`, text(toX(t), axisY + 17, formatTick(t), 'text-anchor="middle"'));
  }
  body.push(text(frame.left + frame.width / 2, axisY + 38, opts.xLabel, 'text-anchor="middle"'));

  finite.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length];
    const coordinates = s.points.map(([x, y]) => `${round(toX(x))},${round(toY(y))}`);
    body.push(`<polyline points="${coordinates.join(' ')}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    // Markers make single points and sparse series visible.
    if (s.points.length <= 60) {
      for (const c of coordinates) {
        const [cx, cy] = c.split(',');
        body.push(`<circle cx="${cx}" cy="${cy}" r="2.5" fill="${colour}"/>`);
      }
    }
  });
  body.push(...legend(series.map((s) => s.name), frame.left + frame.width + 16, frame.top));
  return svgDocument(width, height, opts.title, body);
}

export interface BarGroups {
  /** One group of bars per category, e.g. per kernel or per emotion. */
  categories: string[];
  /** One bar per series in each group, e.g. "ours" and "peer"; null = not measured. */
  series: { name: string; values: (number | null)[] }[];
}

/**
 * Grouped bar chart, e.g. GFLOP/s per kernel for our engine vs a peer, or F1 per class per
 * condition. Bars are labelled with their values; negative values grow down from zero.
 */
export function barChartSvg(
  groups: BarGroups,
  opts: { title: string; yLabel: string; xLabel?: string; formatValue?: (value: number) => string },
): string {
  const { categories, series } = groups;
  series.forEach((s) => {
    if (s.values.length !== categories.length) {
      throw new Error(`barChartSvg: series "${s.name}" has ${s.values.length} values for ${categories.length} categories`);
    }
  });
  const format = opts.formatValue ?? formatTick;
  const values = series.flatMap((s) => s.values).filter((v): v is number => v !== null && Number.isFinite(v));
  // Bars are read against zero, so zero is always inside the axis.
  const { lo: yMin, hi: yMax, ticks: yTicks } = niceDomain(Math.min(0, ...values), Math.max(0, ...values));

  const barWidth = 22;
  const groupWidth = Math.max(1, series.length) * barWidth + 24;
  const longestCategory = Math.max(0, ...categories.map((c) => c.length));
  const legendWidth = 48 + Math.max(0, ...series.map((s) => s.name.length)) * CHAR_WIDTH;
  const frame: Frame = { left: 70, top: 48, width: Math.max(200, groupWidth * categories.length), height: 280 };
  const labelDepth = 20 + longestCategory * CHAR_WIDTH * 0.7;
  const width = frame.left + frame.width + legendWidth;
  const height = frame.top + frame.height + labelDepth + (opts.xLabel ? 24 : 6);
  const toY = (v: number) => frame.top + frame.height - ((v - yMin) / (yMax - yMin)) * frame.height;

  const body = yAxis(frame, yTicks, toY, opts.yLabel);
  const zeroY = toY(0);
  categories.forEach((category, g) => {
    const groupLeft = frame.left + g * (frame.width / categories.length) + (frame.width / categories.length - groupWidth) / 2 + 12;
    series.forEach((s, i) => {
      const value = s.values[g];
      if (value === null || !Number.isFinite(value)) return;
      const x = groupLeft + i * barWidth;
      const y = Math.min(toY(value), zeroY);
      body.push(
        `<rect x="${round(x)}" y="${round(y)}" width="${barWidth - 2}" height="${round(Math.abs(toY(value) - zeroY))}" fill="${PALETTE[i % PALETTE.length]}"><title>${escapeXml(`${s.name}, ${category}: ${format(value)}`)}</title></rect>`,
        text(x + (barWidth - 2) / 2, value >= 0 ? y - 3 : y + Math.abs(toY(value) - zeroY) + 11, format(value), 'text-anchor="middle" font-size="9"'),
      );
    });
    const labelX = groupLeft + (series.length * barWidth) / 2;
    const labelY = frame.top + frame.height + 14;
    body.push(text(labelX, labelY, category, `text-anchor="end" transform="rotate(-30 ${round(labelX)} ${round(labelY)})"`));
  });
  body.push(`<line x1="${frame.left}" y1="${round(zeroY)}" x2="${frame.left + frame.width}" y2="${round(zeroY)}" stroke="#333333"/>`);
  if (opts.xLabel) body.push(text(frame.left + frame.width / 2, height - 8, opts.xLabel, 'text-anchor="middle"'));
  body.push(...legend(series.map((s) => s.name), frame.left + frame.width + 16, frame.top));
  return svgDocument(width, height, opts.title, body);
}

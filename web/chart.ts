// Drawing for the demo page: a canvas line chart (live probabilities over audio time, the loss over training
// steps) and probability bars. Redraws are batched to one per animation frame, so a burst of results costs
// one paint.

const EMOTION_COLORS: Record<string, string> = {
  angry: '#d64545',
  happy: '#e6a317',
  sad: '#3b6fd8',
  neutral: '#7a8394',
  excited: '#e0671b',
  fear: '#8a4fc9',
  disgust: '#4f8a3b',
  boredom: '#a08a6a',
  calm: '#2fa3a0',
  surprise: '#d24fa3',
  frustrated: '#9c3b3b',
};
const FALLBACK_COLORS = ['#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e', '#e6ab02'];

export function colorOf(name: string, index = 0): string {
  // Own names only: a checkpoint's class may be called "constructor", which the plain lookup found on Object.prototype.
  return Object.hasOwn(EMOTION_COLORS, name) ? EMOTION_COLORS[name] : FALLBACK_COLORS[index % FALLBACK_COLORS.length];
}

export interface ChartOptions {
  series: string[];
  /** Fixed y range; omitted, the range follows the data. */
  yRange?: [number, number];
  /** Show only the newest span of x (e.g. 20 s of audio); omitted, all of it. */
  xSpan?: number;
  xLabel: string;
}

export class LineChart {
  private points: { x: number; values: number[] }[] = [];
  private frame = 0;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly options: ChartOptions,
  ) {
    this.draw();
  }

  push(x: number, values: number[]): void {
    this.points.push({ x, values });
    this.schedule();
  }

  clear(): void {
    this.points = [];
    this.schedule();
  }

  private schedule(): void {
    if (!this.frame) this.frame = requestAnimationFrame(() => ((this.frame = 0), this.draw()));
  }

  private draw(): void {
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    // Draw at the displayed size times the pixel ratio, so text stays sharp whatever the layout width.
    const ratio = window.devicePixelRatio || 1;
    const width = this.canvas.clientWidth || this.canvas.width;
    const height = this.canvas.clientHeight || this.canvas.height;
    if (this.canvas.width !== Math.round(width * ratio)) this.canvas.width = Math.round(width * ratio);
    if (this.canvas.height !== Math.round(height * ratio)) this.canvas.height = Math.round(height * ratio);
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    const pad = { left: 44, right: 110, top: 10, bottom: 26 };
    const { series, xSpan, xLabel } = this.options;
    ctx.clearRect(0, 0, width, height);
    const last = this.points.at(-1)?.x ?? 0;
    const visible = xSpan ? this.points.filter((p) => p.x >= last - xSpan) : this.points;
    const x0 = xSpan ? Math.max(0, last - xSpan) : (visible[0]?.x ?? 0);
    const x1 = Math.max(x0 + (xSpan ?? 1), last);
    let [y0, y1] = this.options.yRange ?? [Infinity, -Infinity];
    if (!this.options.yRange) {
      for (const p of visible) for (const v of p.values) [y0, y1] = [Math.min(y0, v), Math.max(y1, v)];
      if (!Number.isFinite(y0)) [y0, y1] = [0, 1];
      // A margin around the data rather than a zero baseline: a loss curve's changes stay visible.
      const margin = Math.max(0.05 * (y1 - y0), 1e-3);
      [y0, y1] = [y0 - margin, y1 + margin];
    }
    const px = (x: number) => pad.left + ((x - x0) / (x1 - x0)) * (width - pad.left - pad.right);
    const py = (y: number) => height - pad.bottom - ((y - y0) / (y1 - y0)) * (height - pad.top - pad.bottom);

    ctx.font = '12px system-ui, sans-serif';
    ctx.strokeStyle = '#e3e6ec';
    ctx.fillStyle = '#667085';
    ctx.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const y = y0 + ((y1 - y0) * i) / 4;
      ctx.beginPath();
      ctx.moveTo(pad.left, py(y));
      ctx.lineTo(width - pad.right, py(y));
      ctx.stroke();
      ctx.fillText(y.toFixed(y1 - y0 >= 4 ? 1 : y1 - y0 >= 0.2 ? 2 : 3), 4, py(y) + 4);
    }
    ctx.fillText(`${xLabel} ${x0.toFixed(0)}–${x1.toFixed(0)}`, pad.left, height - 6);

    series.forEach((name, s) => {
      ctx.strokeStyle = colorOf(name, s);
      ctx.lineWidth = 2;
      ctx.beginPath();
      visible.forEach((p, i) => (i ? ctx.lineTo(px(p.x), py(p.values[s])) : ctx.moveTo(px(p.x), py(p.values[s]))));
      ctx.stroke();
      ctx.fillStyle = colorOf(name, s);
      ctx.fillText(name, width - pad.right + 10, pad.top + 14 + s * 16);
    });
  }
}

/** Horizontal bars, one per class, largest first only in colour: the order stays the model's. */
export function renderBars(container: HTMLElement, probabilities: Record<string, number>): void {
  container.replaceChildren(
    ...Object.entries(probabilities).flatMap(([name, p], i) => {
      const label = document.createElement('span');
      label.textContent = name;
      const bar = document.createElement('div');
      bar.className = 'bar';
      const fill = document.createElement('div');
      fill.style.width = `${(100 * p).toFixed(1)}%`;
      fill.style.background = colorOf(name, i);
      bar.append(fill);
      const value = document.createElement('span');
      value.textContent = `${(100 * p).toFixed(1)}%`;
      return [label, bar, value];
    }),
  );
}

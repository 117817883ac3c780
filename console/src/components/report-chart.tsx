import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { axisTicks, type Chart } from '../reports.js';

/**
 * A report's chart in hand-written SVG (docs/decisions.md, "Reports (issue #24)"): one bar per row, a line of points
 * for a time series, stacked outcomes per interval for `trends`. Drawn at the width it is given (a phone's too), with
 * direct value labels. Keyboard: the chart is one tab stop; arrow keys move between bars (← → between intervals and
 * ↑ ↓ within a stack), Home/End, Enter or Space drills down, as a click does. The table below is the accessible
 * alternative with the same rows and the same links.
 *
 * Colours are the Okabe–Ito palette (distinguishable with every common colour-vision deficiency), and each outcome
 * also has its own pattern and a legend, so a stack never depends on colour alone.
 */
export const OUTCOME_STYLE: Record<string, { colour: string; pattern: string | null; label: string }> = {
  success: { colour: '#009E73', pattern: null, label: 'success' },
  failure: { colour: '#E69F00', pattern: 'diagonal', label: 'failure' },
  error: { colour: '#D55E00', pattern: 'cross', label: 'error' },
  skip: { colour: '#56B4E9', pattern: 'dots', label: 'skip' },
  none: { colour: '#CC79A7', pattern: 'horizontal', label: 'no outcome' },
};
const SERIES = '#0072B2';
const FALLBACK = { colour: '#999999', pattern: 'vertical', label: '' };
const styleOf = (outcome: string) => OUTCOME_STYLE[outcome] ?? { ...FALLBACK, label: outcome };

export interface Target {
  row: number;
  outcome?: string;
}

const MAX_BARS = 60;
const MAX_COLUMNS = 400;
const short = (text: string, n: number) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);

function compact(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return Number.isInteger(n) ? String(n) : n.toFixed(a < 1 ? 3 : 2);
}

export function ReportChart({ chart, title, onDrill, format }: { chart: Chart; title: string; onDrill: (t: Target) => void; format: (n: number) => string }) {
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(720);
  const [active, setActive] = useState(0);
  const moved = useRef(false);
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const measure = () => setWidth(Math.max(260, Math.floor(el.clientWidth)));
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  useEffect(() => setActive(0), [chart]);
  // Focus follows the arrow keys as soon as the chart has re-rendered (a layout effect: before the next key).
  useLayoutEffect(() => {
    if (!moved.current) return;
    moved.current = false;
    (box.current?.querySelector(`[data-k="${active}"]`) as SVGElement | null)?.focus();
  }, [active]);

  if (chart.kind === 'none') return <p class="muted">{chart.reason}</p>;
  const targets: (Target & { col?: number; seg?: number })[] =
    chart.kind === 'bars' ? chart.bars.slice(0, MAX_BARS).map((b) => ({ row: b.row }))
      : chart.kind === 'lines' ? chart.points.map((p) => ({ row: p.row }))
        : chart.columns.slice(-MAX_COLUMNS).flatMap((c, col) => c.segments.map((s, seg) => ({ row: s.row, outcome: s.outcome, col, seg })));
  const go = (k: number) => {
    if (targets.length === 0) return;
    moved.current = true;
    setActive(Math.max(0, Math.min(targets.length - 1, k)));
  };
  const onKey = (e: KeyboardEvent) => {
    const here = targets[active];
    if (!here) return;
    if (e.key === 'Enter' || e.key === ' ') return void (e.preventDefault(), onDrill({ row: here.row, ...(here.outcome ? { outcome: here.outcome } : {}) }));
    let next: number | undefined;
    if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = targets.length - 1;
    else if (chart.kind === 'stacked' && here.col !== undefined && (e.key === 'ArrowLeft' || e.key === 'ArrowRight')) {
      const col = here.col + (e.key === 'ArrowRight' ? 1 : -1);
      const inCol = targets.map((t, k) => [t, k] as const).filter(([t]) => t.col === col);
      if (inCol.length) next = (inCol[Math.min(here.seg ?? 0, inCol.length - 1)] ?? inCol[0]!)[1];
    } else if (e.key === 'ArrowRight' || e.key === 'ArrowDown') next = active + 1;
    else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') next = active - 1;
    if (next !== undefined) {
      e.preventDefault();
      go(next);
    }
  };
  const item = (k: number, label: string) => ({
    'data-k': k, tabIndex: k === Math.min(active, targets.length - 1) ? 0 : -1, role: 'button', 'aria-label': label, class: 'mark',
    onClick: () => { setActive(k); const t = targets[k]!; onDrill({ row: t.row, ...(t.outcome ? { outcome: t.outcome } : {}) }); },
    onFocus: () => setActive(k),
  });

  return (
    <div class="chart" ref={box} onKeyDown={onKey} data-testid="report-chart" data-kind={chart.kind}>
      {chart.kind === 'bars' ? <Bars chart={chart} width={width} item={item} title={title} format={format} /> : null}
      {chart.kind === 'lines' ? <Lines chart={chart} width={width} item={item} title={title} format={format} /> : null}
      {chart.kind === 'stacked' ? <Stacked chart={chart} width={width} item={item} title={title} format={format} /> : null}
    </div>
  );
}

type Item = (k: number, label: string) => Record<string, unknown>;

function Bars({ chart, width, item, title, format }: { chart: Extract<Chart, { kind: 'bars' }>; width: number; item: Item; title: string; format: (n: number) => string }) {
  const bars = chart.bars.slice(0, MAX_BARS);
  const rowH = 26;
  const labelW = Math.min(220, Math.floor(width * 0.36));
  const valueW = 64;
  const plotW = Math.max(40, width - labelW - valueW - 8);
  const max = Math.max(0, ...bars.map((b) => b.value));
  const min = Math.min(0, ...bars.map((b) => b.value));
  const span = max - min || 1;
  const x = (v: number) => labelW + ((v - min) / span) * plotW;
  const chars = Math.max(8, Math.floor(labelW / 7));
  const height = bars.length * rowH + 8;
  return (
    <>
      <svg width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="group" aria-label={`${title}: ${chart.measure} per row, bar chart`}>
        {min < 0 ? <line x1={x(0)} x2={x(0)} y1={0} y2={height} stroke="#5d636e" /> : null}
        {bars.map((b, k) => {
          const y = 4 + k * rowH;
          const x0 = x(Math.min(0, b.value));
          const w = Math.max(1, Math.abs(x(b.value) - x(0)));
          return (
            <g key={b.row} data-row={b.row} {...item(k, `${b.label}: ${chart.measure} ${format(b.value)}. Open the events.`)}>
              <title>{`${b.label}: ${format(b.value)}`}</title>
              <rect class="hit" x={0} y={y - 2} width={width} height={rowH} />
              <text x={labelW - 6} y={y + rowH / 2} text-anchor="end" dominant-baseline="middle" class="label">{short(b.label, chars)}</text>
              <rect x={x0} y={y + 3} width={w} height={rowH - 10} rx={2} fill={SERIES} />
              <text x={Math.max(x(b.value), x(0)) + 4} y={y + rowH / 2} dominant-baseline="middle" class="value">{compact(b.value)}</text>
            </g>
          );
        })}
      </svg>
      {chart.bars.length > MAX_BARS ? <p class="muted">The chart shows the first {MAX_BARS} of {chart.bars.length} rows; the table has them all.</p> : null}
    </>
  );
}


function Axis({ width, height, top, left, max, y }: { width: number; height: number; top: number; left: number; max: number; y: (v: number) => number }) {
  return (
    <g aria-hidden="true" class="axis">
      {axisTicks(max).map((v) => (
        <g key={v}>
          <line x1={left} x2={width} y1={y(v)} y2={y(v)} stroke="#eceef2" />
          <text x={left - 4} y={y(v)} text-anchor="end" dominant-baseline="middle">{compact(v)}</text>
        </g>
      ))}
      <line x1={left} x2={left} y1={top} y2={height} stroke="#c5c9d1" />
    </g>
  );
}

/** Labels under the x axis: as many as fit, evenly spaced. */
function xLabels<T extends { label: string }>(items: T[], width: number, at: (k: number) => number, y: number) {
  const every = Math.max(1, Math.ceil(items.length / Math.max(1, Math.floor(width / 110))));
  return items.map((p, k) => (k % every === 0 ? <text key={k} x={at(k)} y={y} text-anchor="middle" class="tick">{p.label}</text> : null));
}

function Lines({ chart, width, item, title, format }: { chart: Extract<Chart, { kind: 'lines' }>; width: number; item: Item; title: string; format: (n: number) => string }) {
  const height = 260;
  const left = 48;
  const top = 10;
  const bottom = height - 28;
  const max = Math.max(0, ...chart.points.map((p) => p.value)) || 1;
  const ticks = axisTicks(max);
  const top_ = ticks[ticks.length - 1]! || 1;
  const y = (v: number) => bottom - (Math.max(0, v) / top_) * (bottom - top);
  const n = chart.points.length;
  const xAt = (k: number) => (n <= 1 ? (left + width) / 2 : left + 8 + (k / (n - 1)) * (width - left - 16));
  return (
    <svg width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="group" aria-label={`${title}: ${chart.measure} over time, line chart`}>
      <Axis width={width} height={bottom} top={top} left={left} max={top_} y={y} />
      <polyline fill="none" stroke={SERIES} stroke-width={2} points={chart.points.map((p, k) => `${xAt(k)},${y(p.value)}`).join(' ')} aria-hidden="true" />
      {chart.points.map((p, k) => (
        <g key={p.row} data-row={p.row} {...item(k, `${p.label}: ${chart.measure} ${format(p.value)}. Open the events.`)}>
          <title>{`${p.label}: ${format(p.value)}`}</title>
          <circle cx={xAt(k)} cy={y(p.value)} r={9} class="hit" />
          <circle cx={xAt(k)} cy={y(p.value)} r={4} fill={SERIES} stroke="#fff" stroke-width={1.5} />
        </g>
      ))}
      {xLabels(chart.points, width - left, xAt, height - 8)}
    </svg>
  );
}

function Patterns() {
  const line = (d: string) => <path d={d} stroke="#000" stroke-opacity={0.55} stroke-width={1.5} />;
  return (
    <defs>
      <pattern id="rp-diagonal" width={6} height={6} patternUnits="userSpaceOnUse" patternTransform="rotate(45)">{line('M0 0V6')}</pattern>
      <pattern id="rp-cross" width={6} height={6} patternUnits="userSpaceOnUse">{line('M0 0L6 6M6 0L0 6')}</pattern>
      <pattern id="rp-dots" width={5} height={5} patternUnits="userSpaceOnUse"><circle cx={2.5} cy={2.5} r={1.2} fill="#000" fill-opacity={0.55} /></pattern>
      <pattern id="rp-horizontal" width={6} height={5} patternUnits="userSpaceOnUse">{line('M0 2.5H6')}</pattern>
      <pattern id="rp-vertical" width={5} height={6} patternUnits="userSpaceOnUse">{line('M2.5 0V6')}</pattern>
    </defs>
  );
}

function Swatch({ outcome }: { outcome: string }) {
  const s = styleOf(outcome);
  return (
    <svg width={14} height={14} aria-hidden="true" class="swatch">
      <rect width={14} height={14} fill={s.colour} />
      {s.pattern ? <rect width={14} height={14} fill={`url(#rp-${s.pattern})`} /> : null}
    </svg>
  );
}

function Stacked({ chart, width, item, title, format }: { chart: Extract<Chart, { kind: 'stacked' }>; width: number; item: Item; title: string; format: (n: number) => string }) {
  const columns = chart.columns.slice(-MAX_COLUMNS);
  const height = 280;
  const left = 48;
  const top = 10;
  const bottom = height - 28;
  const max = Math.max(0, ...columns.map((c) => c.total)) || 1;
  const ticks = axisTicks(max);
  const top_ = ticks[ticks.length - 1]! || 1;
  const y = (v: number) => bottom - (v / top_) * (bottom - top);
  const slot = (width - left - 8) / Math.max(1, columns.length);
  const barW = Math.max(2, Math.min(48, slot * 0.75));
  const xAt = (k: number) => left + 4 + slot * k + slot / 2;
  let k = 0;
  return (
    <>
      <ul class="legend" aria-label="Outcomes">
        {chart.outcomes.map((o) => <li key={o}><Swatch outcome={o} /> {styleOf(o).label}</li>)}
      </ul>
      <svg width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="group" aria-label={`${title}: ${chart.measure} per interval, stacked by outcome`}>
        <Patterns />
        <Axis width={width} height={bottom} top={top} left={left} max={top_} y={y} />
        {columns.map((c, ci) => {
          let base = 0;
          return (
            <g key={c.t} class="stack" data-t={c.t}>
              {c.segments.map((s) => {
                const y0 = y(base + Math.max(0, s.value));
                const h = Math.max(s.value > 0 ? 1 : 0, y(base) - y0);
                base += Math.max(0, s.value);
                const st = styleOf(s.outcome);
                const label = `${c.label}, ${st.label}: ${format(s.value)} of ${format(c.total)}. Open the events.`;
                return (
                  <g key={s.outcome} data-row={s.row} data-outcome={s.outcome} {...item(k++, label)}>
                    <title>{`${c.label} · ${st.label}: ${format(s.value)}`}</title>
                    <rect x={xAt(ci) - barW / 2} y={y0} width={barW} height={h} fill={st.colour} />
                    {st.pattern ? <rect x={xAt(ci) - barW / 2} y={y0} width={barW} height={h} fill={`url(#rp-${st.pattern})`} /> : null}
                  </g>
                );
              })}
            </g>
          );
        })}
        {xLabels(columns, width - left, xAt, height - 8)}
      </svg>
      {chart.columns.length > MAX_COLUMNS ? <p class="muted">The chart shows the last {MAX_COLUMNS} of {chart.columns.length} intervals; the table has them all.</p> : null}
    </>
  );
}

// The race: cumulative output tokens over time per strategy. Loaded lazily (with uPlot) so the
// first paint does not wait for the chart library.
import { useEffect, useRef } from 'react';
import uPlot, { type AlignedData } from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Lane } from '../race';

interface Props {
  series: { name: string; label: string; lane: Lane }[];
}

const COLORS = ['#2f6fdf', '#d9480f', '#2b8a3e', '#862e9c'];
const stepped = uPlot.paths.stepped?.({ align: 1 });

/**
 * Tokens over time. The stream carries text, and the model counts tokens only at the end, so
 * each point's characters are scaled by the final usage (exact at the last point); before the
 * usage arrives, about four characters make a token.
 */
export function tokensOver(lane: Lane): [number[], number[]] {
  const chars = lane.points.at(-1)?.[1] ?? 0;
  const tokens = lane.completion?.usage.completionTokens;
  const scale = tokens !== undefined && chars > 0 ? tokens / chars : 0.25;
  return [lane.points.map(([ms]) => Math.round(ms)), lane.points.map(([, c]) => Math.round(c * scale))];
}

export default function RaceChart({ series }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const names = series.map((s) => s.name).join(',');

  useEffect(() => {
    const element = host.current;
    if (!element) return;
    const ink = getComputedStyle(element).color;
    const grid = getComputedStyle(element).getPropertyValue('--line').trim() || '#8884';
    const chart = new uPlot(
      {
        width: Math.max(280, element.clientWidth),
        height: 240,
        scales: { x: { time: false } },
        // The canvas does not follow CSS: draw axes in the page's text color (light or dark).
        axes: [
          { label: 'ms since the request', stroke: ink, grid: { stroke: grid } },
          { label: 'output tokens', stroke: ink, grid: { stroke: grid } },
        ],
        series: [
          { label: 'ms' },
          // Stepped: the count holds until the next chunk arrives (REST's one step is honest).
          ...series.map((s, i) => ({
            label: s.label,
            stroke: COLORS[i % COLORS.length],
            width: 2,
            spanGaps: true,
            paths: stepped,
            points: { show: false },
          })),
        ],
      },
      [[], ...series.map(() => [])] as AlignedData,
      element,
    );
    plot.current = chart;
    const resize = () => chart.setSize({ width: Math.max(280, element.clientWidth), height: 240 });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      chart.destroy();
      plot.current = null;
    };
    // The chart is rebuilt only when the set of strategies changes; data updates below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [names]);

  useEffect(() => {
    plot.current?.setData(uPlot.join(series.map((s) => tokensOver(s.lane))));
  }, [series]);

  return <div className="chart" ref={host} role="img" aria-label="Output tokens over time per strategy" />;
}

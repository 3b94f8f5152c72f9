// The metrics page: the server's own counters over the last hour (sampled every 5 s on the server,
// console-metrics.ts), charted with uPlot: requests/s, latency and fsync time, znodes and watches,
// connections and outstanding requests.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { api } from './api';
import { usePoll } from './poll';

type Series = Record<
  't' | 'requestsPerSec' | 'avgLatencyMs' | 'fsyncAvgMs' | 'znodes' | 'watches' | 'connections' | 'outstanding',
  number[]
>;

const POLL_MS = 5000;
const WINDOW_MIN_S = 300;
const COLORS = ['#2458c5', '#c62828', '#2e7d32', '#8a5a00'];

interface ChartSpec {
  title: string;
  keys: Array<[keyof Series, string]>;
}

const CHARTS: ChartSpec[] = [
  { title: 'Requests per second', keys: [['requestsPerSec', 'requests/s']] },
  {
    title: 'Latency (ms, average per 5 s)',
    keys: [
      ['avgLatencyMs', 'request latency'],
      ['fsyncAvgMs', 'txn log fsync'],
    ],
  },
  {
    title: 'Znodes and watches',
    keys: [
      ['znodes', 'znodes'],
      ['watches', 'watches'],
    ],
  },
  {
    title: 'Connections and outstanding requests',
    keys: [
      ['connections', 'connections'],
      ['outstanding', 'outstanding'],
    ],
  },
];

function Chart({ spec, data }: { spec: ChartSpec; data: Series }) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const rows = (): uPlot.AlignedData => [data.t, ...spec.keys.map(([k]) => data[k])];
  useEffect(() => {
    if (!el.current) return;
    plot.current = new uPlot(
      {
        width: 560,
        height: 200,
        series: [{}, ...spec.keys.map(([, label], i) => ({ label, stroke: COLORS[i], width: 2 }))],
        // at least the last WINDOW_MIN_S seconds, so the first few points are not stretched over years
        scales: { x: { time: true, range: (_u, min, max) => [Math.min(min, max - WINDOW_MIN_S), max] } },
        axes: [{}, { size: 60 }],
      },
      rows(),
      el.current,
    );
    return () => plot.current?.destroy();
  }, []);
  useEffect(() => {
    plot.current?.setData(rows());
  }, [data]);
  return (
    <figure class="chart" data-testid={`chart-${spec.keys[0]![0]}`}>
      <figcaption>{spec.title}</figcaption>
      <div ref={el} />
    </figure>
  );
}

export function MetricsPage() {
  const { data, error } = usePoll(() => api<Series>('GET', '/metrics'), POLL_MS);
  return (
    <section class="page" data-testid="metrics">
      <h2>Metrics: the last hour</h2>
      <p class="muted">
        This member's own counters, sampled every 5 s (kept in memory for an hour; the page refreshes every {POLL_MS / 1000} s).
        {data && data.t.length < 2 && ' The first points appear 10 s after the server starts.'}
        {error && <span class="error"> {error}</span>}
      </p>
      {data && (
        <div class="charts">
          {CHARTS.map((c) => (
            <Chart key={c.title} spec={c} data={data} />
          ))}
        </div>
      )}
    </section>
  );
}

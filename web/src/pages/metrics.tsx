/** A process's metrics (JobManager or TaskManager): memory, CPU, event loop, GC, under Flink's `Status.*` names. */
import { getJson, type MetricValue } from '../api.js';
import { Card, ErrorBanner, Loading, Stat } from '../components/ui.js';
import { bytes, duration, percent } from '../format.js';
import { usePoll } from '../hooks.js';

const SHOWN = [
  'Status.JVM.Memory.Heap.Used',
  'Status.JVM.Memory.Heap.Committed',
  'Status.JVM.Memory.Heap.Max',
  'Status.Process.RSS',
  'Status.JVM.CPU.Load',
  'Status.Node.EventLoop.Utilization',
  'Status.Node.EventLoop.Delay.Mean',
  'Status.Node.EventLoop.Delay.P99',
  'Status.JVM.GarbageCollector.V8.Count',
  'Status.JVM.GarbageCollector.V8.Time',
];

/** Everything the metric list offers, read in one request (its `get` takes a comma-separated list). */
async function readMetrics(base: string): Promise<Map<string, number>> {
  const values = await getJson<MetricValue[]>(`${base}?get=${SHOWN.join(',')}`);
  return new Map(values.flatMap((m) => (m.value === undefined ? [] : [[m.id, Number(m.value)] as const])));
}

export function ProcessMetrics({ base }: { base: string }) {
  const metrics = usePoll(() => readMetrics(base), `metrics:${base}`);
  if (metrics.error !== undefined && metrics.data === undefined) return <ErrorBanner error={metrics.error} />;
  const m = metrics.data;
  if (m === undefined) return <Loading />;
  const heapUsed = m.get('Status.JVM.Memory.Heap.Used');
  const heapMax = m.get('Status.JVM.Memory.Heap.Max');
  return (
    <>
      <div class="stats" data-testid="process-metrics">
        <Stat
          label="Heap used"
          value={bytes(heapUsed)}
          hint={heapMax === undefined ? undefined : `of ${bytes(heapMax)}`}
        />
        <Stat label="Resident set (RSS)" value={bytes(m.get('Status.Process.RSS'))} />
        <Stat label="CPU load" value={percent(m.get('Status.JVM.CPU.Load'))} />
        <Stat label="Event loop utilization" value={percent(m.get('Status.Node.EventLoop.Utilization'))} />
        <Stat
          label="Event loop delay (mean)"
          value={duration(m.get('Status.Node.EventLoop.Delay.Mean'))}
          hint={`p99 ${duration(m.get('Status.Node.EventLoop.Delay.P99'))}`}
        />
        <Stat
          label="GC"
          value={`${m.get('Status.JVM.GarbageCollector.V8.Count') ?? '–'} runs`}
          hint={duration(m.get('Status.JVM.GarbageCollector.V8.Time'))}
        />
      </div>
      {heapUsed !== undefined && heapMax !== undefined && heapMax > 0 && (
        <Card title="Heap">
          <div class="meter">
            <div class="meter-fill" style={{ width: `${Math.min(100, (100 * heapUsed) / heapMax)}%` }} />
          </div>
          <div class="muted small">
            {bytes(heapUsed)} used · {bytes(m.get('Status.JVM.Memory.Heap.Committed'))} committed ·{' '}
            {bytes(heapMax)} limit
          </div>
        </Card>
      )}
    </>
  );
}

/** The TaskManager list, and one TaskManager's page: details, metrics, log and stdout. */
import { getJson, getText, type TaskManagerInfo, type TaskManagersInfo } from '../api.js';
import { Card, Empty, ErrorBanner, KeyValues, Loading, Tabs } from '../components/ui.js';
import { bytes } from '../format.js';
import { usePoll } from '../hooks.js';
import { ProcessMetrics } from './metrics.js';

export function TaskManagersPage() {
  const tms = usePoll(() => getJson<TaskManagersInfo>('/taskmanagers'), 'taskmanagers');
  return (
    <div class="page">
      <h1>Task Managers</h1>
      <ErrorBanner error={tms.error} />
      {tms.data === undefined ? (
        tms.error === undefined && <Loading />
      ) : tms.data.taskmanagers.length === 0 ? (
        <Empty>No TaskManagers registered.</Empty>
      ) : (
        <Card>
          <table class="table" data-testid="taskmanager-table">
            <thead>
              <tr>
                <th>ID</th>
                <th>Address</th>
                <th class="num">Data port</th>
                <th class="num">Slots</th>
                <th class="num">Free slots</th>
                <th class="num">CPU cores</th>
                <th class="num">Physical memory</th>
              </tr>
            </thead>
            <tbody>
              {tms.data.taskmanagers.map((tm) => (
                <tr
                  key={tm.id}
                  class="clickable"
                  onClick={() => (window.location.hash = `#/taskmanager/${tm.id}/metrics`)}
                >
                  <td>
                    <a href={`#/taskmanager/${tm.id}/metrics`} class="mono">
                      {tm.id}
                    </a>
                  </td>
                  <td class="mono small">{tm.path}</td>
                  <td class="num">{tm.dataPort}</td>
                  <td class="num">{tm.slotsNumber}</td>
                  <td class="num">{tm.freeSlots}</td>
                  <td class="num">{tm.hardware.cpuCores}</td>
                  <td class="num">{bytes(tm.hardware.physicalMemory)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Card>
      )}
    </div>
  );
}

function LogView({ path }: { path: string }) {
  const text = usePoll(() => getText(path), `log:${path}`);
  if (text.error !== undefined && text.data === undefined) return <ErrorBanner error={text.error} />;
  if (text.data === undefined) return <Loading />;
  return text.data === '' ? <Empty>Nothing written yet.</Empty> : <pre class="log">{text.data}</pre>;
}

function Details({ tm }: { tm: TaskManagerInfo }) {
  return (
    <KeyValues
      rows={[
        ['Address', <span class="mono">{tm.path}</span>],
        ['Data port', tm.dataPort],
        ['Task slots', `${tm.freeSlots} free of ${tm.slotsNumber}`],
        ['CPU cores', tm.hardware.cpuCores],
        ['Physical memory', bytes(tm.hardware.physicalMemory)],
        ['Free memory', bytes(tm.hardware.freeMemory)],
        ['Blocked', tm.blocked === true ? 'yes' : 'no'],
      ]}
    />
  );
}

export function TaskManagerPage({ id, tab }: { id: string; tab: string }) {
  const tm = usePoll(() => getJson<TaskManagerInfo>(`/taskmanagers/${id}`), `tm:${id}`);
  const base = `#/taskmanager/${id}`;
  const tabs = [
    { id: 'metrics', label: 'Metrics', href: `${base}/metrics` },
    { id: 'log', label: 'Log', href: `${base}/log` },
    { id: 'stdout', label: 'Stdout', href: `${base}/stdout` },
  ];
  return (
    <div class="page">
      <h1>
        Task Manager <span class="mono small">{id}</span>
      </h1>
      <ErrorBanner error={tm.error} />
      <Tabs tabs={tabs} active={tab} />
      {tab === 'log' ? (
        <Card title="Log">
          <LogView path={`/taskmanagers/${id}/log`} />
        </Card>
      ) : tab === 'stdout' ? (
        <Card title="Stdout">
          <LogView path={`/taskmanagers/${id}/stdout`} />
        </Card>
      ) : (
        <>
          <ProcessMetrics base={`/taskmanagers/${id}/metrics`} />
          {tm.data !== undefined && (
            <Card title="Details">
              <Details tm={tm.data} />
            </Card>
          )}
        </>
      )}
    </div>
  );
}

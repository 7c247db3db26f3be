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

/** A log file, read when shown and on Refresh (not polled: it can be large). */
function LogView({ path, title }: { path: string; title: string }) {
  const text = usePoll(() => getText(path), `log:${path}`, 0);
  return (
    <Card
      title={title}
      actions={
        <button class="btn btn-small" onClick={text.refresh}>
          Refresh
        </button>
      }
    >
      {text.error !== undefined ? (
        <ErrorBanner error={text.error} />
      ) : text.data === undefined ? (
        <Loading />
      ) : text.data === '' ? (
        <Empty>Nothing written yet.</Empty>
      ) : (
        <pre class="log">{text.data}</pre>
      )}
    </Card>
  );
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
        <LogView title="Log" path={`/taskmanagers/${id}/log`} />
      ) : tab === 'stdout' ? (
        <LogView title="Stdout" path={`/taskmanagers/${id}/stdout`} />
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

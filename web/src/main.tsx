/** The dashboard's entry: the frame (sidebar, header) and the hash router. */
import { render } from 'preact';
import { getJson, type DashboardConfiguration } from './api.js';
import { usePoll, useHashRoute } from './hooks.js';
import { JobManagerPage } from './pages/jobmanager.js';
import { JobPage } from './pages/job.js';
import { JobsPage } from './pages/jobs.js';
import { OverviewPage } from './pages/overview.js';
import { TaskManagerPage, TaskManagersPage } from './pages/taskmanagers.js';
import './style.css';

const NAV = [
  { id: 'overview', label: 'Overview', href: '#/overview' },
  { id: 'jobs', label: 'Jobs', href: '#/jobs' },
  { id: 'taskmanagers', label: 'Task Managers', href: '#/taskmanagers' },
  { id: 'jobmanager', label: 'Job Manager', href: '#/jobmanager' },
] as const;

function Page({ route }: { route: readonly string[] }) {
  const [section, id, tab] = route;
  switch (section) {
    case 'jobs':
      return <JobsPage />;
    case 'job':
      return id === undefined ? (
        <JobsPage />
      ) : (
        <JobPage jobId={id} tab={tab ?? 'overview'} route={route.slice(3)} />
      );
    case 'taskmanagers':
      return <TaskManagersPage />;
    case 'taskmanager':
      return id === undefined ? <TaskManagersPage /> : <TaskManagerPage id={id} tab={tab ?? 'metrics'} />;
    case 'jobmanager':
      return <JobManagerPage tab={id ?? 'metrics'} />;
    default:
      return <OverviewPage />;
  }
}

function App() {
  const route = useHashRoute();
  const config = usePoll(() => getJson<DashboardConfiguration>('/config'), 'config', 0);
  const section =
    route[0] === 'job' ? 'jobs' : route[0] === 'taskmanager' ? 'taskmanagers' : (route[0] ?? 'overview');
  return (
    <div class="frame">
      <aside class="sidebar">
        <a class="brand" href="#/overview">
          <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
            <path
              d="M3 7c3-3 6 3 9 0s6-3 9 0M3 12c3-3 6 3 9 0s6-3 9 0M3 17c3-3 6 3 9 0s6-3 9 0"
              fill="none"
              stroke="currentColor"
              stroke-width="2"
              stroke-linecap="round"
            />
          </svg>
          <span>Sluice</span>
        </a>
        <nav>
          {NAV.map((n) => (
            <a key={n.id} href={n.href} class={section === n.id ? 'nav-item active' : 'nav-item'}>
              {n.label}
            </a>
          ))}
        </nav>
        <div class="sidebar-footer">
          {config.data !== undefined ? `Version ${config.data['flink-version']}` : ''}
        </div>
      </aside>
      <main class="content">
        <Page route={route} />
      </main>
    </div>
  );
}

render(<App />, document.getElementById('app')!);

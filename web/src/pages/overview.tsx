/** The cluster overview: TaskManagers, slots, job counts, and the job lists. */
import { getJson, type ClusterOverviewWithVersion, type MultipleJobsDetails } from '../api.js';
import { ErrorBanner, Loading, Stat } from '../components/ui.js';
import { usePoll } from '../hooks.js';
import { JobLists } from './jobs.js';

export function OverviewPage() {
  const overview = usePoll(() => getJson<ClusterOverviewWithVersion>('/overview'), 'overview');
  const jobs = usePoll(() => getJson<MultipleJobsDetails>('/jobs/overview'), 'jobs');
  const o = overview.data;
  return (
    <div class="page">
      <h1>Cluster Overview</h1>
      <ErrorBanner error={overview.error ?? jobs.error} />
      {o === undefined ? (
        <Loading />
      ) : (
        <div class="stats">
          <Stat label="Task Managers" value={o.taskmanagers} testId="stat-taskmanagers" />
          <Stat label="Available Task Slots" value={o['slots-available']} testId="stat-slots-available" />
          <Stat label="Total Task Slots" value={o['slots-total']} testId="stat-slots-total" />
          <Stat label="Running Jobs" value={o['jobs-running']} testId="stat-jobs-running" />
          <Stat label="Finished" value={o['jobs-finished']} />
          <Stat label="Canceled" value={o['jobs-cancelled']} />
          <Stat label="Failed" value={o['jobs-failed']} />
        </div>
      )}
      {jobs.data !== undefined && <JobLists jobs={jobs.data.jobs} />}
    </div>
  );
}

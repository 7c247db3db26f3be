/** The job list (running first, then completed), and the table the overview page shares. */
import { getJson, type JobDetails, type MultipleJobsDetails } from '../api.js';
import { Badge, Card, Empty, ErrorBanner, Loading, TaskCounts } from '../components/ui.js';
import { duration, time } from '../format.js';
import { usePoll } from '../hooks.js';

const ENDED = new Set(['FINISHED', 'FAILED', 'CANCELED']);

export function isEnded(job: JobDetails): boolean {
  return ENDED.has(job.state);
}

export function JobTable({ jobs, empty }: { jobs: readonly JobDetails[]; empty: string }) {
  if (jobs.length === 0) return <Empty>{empty}</Empty>;
  return (
    <table class="table" data-testid="job-table">
      <thead>
        <tr>
          <th>Job name</th>
          <th>Start time</th>
          <th>Duration</th>
          <th>End time</th>
          <th>Tasks</th>
          <th>Status</th>
        </tr>
      </thead>
      <tbody>
        {jobs.map((j) => (
          <tr
            key={j.jid}
            class="clickable"
            onClick={() => (window.location.hash = `#/job/${j.jid}/overview`)}
          >
            <td>
              <a href={`#/job/${j.jid}/overview`} class="job-name">
                {j.name}
              </a>
              <div class="mono muted small">{j.jid}</div>
            </td>
            <td>{time(j['start-time'])}</td>
            <td>{duration(j.duration)}</td>
            <td>{time(j['end-time'])}</td>
            <td>
              <TaskCounts tasks={j.tasks} />
            </td>
            <td>
              <Badge state={j.state} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The running jobs and the completed ones, newest first, each in a card. */
export function JobLists({ jobs }: { jobs: readonly JobDetails[] }) {
  const all = [...jobs].sort((a, b) => b['start-time'] - a['start-time']);
  return (
    <>
      <Card title="Running Jobs">
        <JobTable jobs={all.filter((j) => !isEnded(j))} empty="No running jobs." />
      </Card>
      <Card title="Completed Jobs">
        <JobTable jobs={all.filter(isEnded)} empty="No completed jobs." />
      </Card>
    </>
  );
}

export function JobsPage() {
  const jobs = usePoll(() => getJson<MultipleJobsDetails>('/jobs/overview'), 'jobs');
  return (
    <div class="page">
      <h1>Jobs</h1>
      <ErrorBanner error={jobs.error} />
      {jobs.data === undefined ? <Loading /> : <JobLists jobs={jobs.data.jobs} />}
    </div>
  );
}

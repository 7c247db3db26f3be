/** The Exceptions tab: the job's failures, newest first, with the failures that came with each. */
import { useState } from 'preact/hooks';
import { getJson, type JobExceptionsInfoWithHistory } from '../api.js';
import { Card, Empty, ErrorBanner, Loading } from '../components/ui.js';
import { time } from '../format.js';
import { usePoll } from '../hooks.js';

export function ExceptionsTab({ jobId }: { jobId: string }) {
  const exceptions = usePoll(
    () => getJson<JobExceptionsInfoWithHistory>(`/jobs/${jobId}/exceptions?maxExceptions=20`),
    `exceptions:${jobId}`,
  );
  const [open, setOpen] = useState<number | undefined>(undefined);
  if (exceptions.error !== undefined && exceptions.data === undefined)
    return <ErrorBanner error={exceptions.error} />;
  const entries = exceptions.data?.exceptionHistory.entries;
  if (entries === undefined) return <Loading />;
  return (
    <Card title="Exception History">
      {entries.length === 0 ? (
        <Empty>No exceptions: the job has not failed.</Empty>
      ) : (
        <table class="table" data-testid="exception-history">
          <thead>
            <tr>
              <th>Time</th>
              <th>Exception</th>
              <th>Task</th>
              <th>Location</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e, i) => [
              <tr key={i} class="clickable" onClick={() => setOpen(open === i ? undefined : i)}>
                <td>{time(e.timestamp)}</td>
                <td class="failure">{e.exceptionName}</td>
                <td>{e.taskName ?? '–'}</td>
                <td class="mono small">{e.endpoint ?? e.taskManagerId ?? '–'}</td>
              </tr>,
              open === i && (
                <tr key={`${i}-trace`} class="nested">
                  <td colSpan={4}>
                    <pre class="log">{e.stacktrace}</pre>
                    {e.concurrentExceptions.length > 0 && (
                      <div class="muted">{e.concurrentExceptions.length} concurrent exception(s)</div>
                    )}
                  </td>
                </tr>
              ),
            ])}
          </tbody>
        </table>
      )}
    </Card>
  );
}

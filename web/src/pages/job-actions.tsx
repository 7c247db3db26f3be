/** The job page's buttons: trigger a checkpoint, trigger a savepoint, cancel; each reports how it ended. */
import { useState } from 'preact/hooks';
import { getJson, send, type AsyncOperationStatus, type TriggerResponse } from '../api.js';

/** What the last action did, shown as a message under the buttons. */
interface Outcome {
  readonly tone: 'info' | 'ok' | 'error';
  readonly text: string;
}

const POLL_MS = 300;

/** Polls an asynchronous operation (Flink's trigger id pattern) until it completed. */
async function awaitOperation(path: string): Promise<AsyncOperationStatus> {
  for (;;) {
    const status = await getJson<AsyncOperationStatus>(path);
    if (status.status.id === 'COMPLETED') return status;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function failureOf(status: AsyncOperationStatus): string | undefined {
  const cause = status.operation?.['failure-cause'] ?? status.operation?.failureCause;
  if (cause === undefined) return undefined;
  const trace = cause['stack-trace'] ?? cause['serialized-throwable'] ?? cause.class ?? 'unknown failure';
  return trace.split('\n')[0];
}

export function JobActions(props: { jobId: string; running: boolean; onChange: () => void }) {
  const { jobId } = props;
  const [busy, setBusy] = useState<string | undefined>(undefined);
  const [outcome, setOutcome] = useState<Outcome | undefined>(undefined);
  const [savepointOpen, setSavepointOpen] = useState(false);
  const [target, setTarget] = useState('');

  const run = async (what: string, action: () => Promise<Outcome>) => {
    setBusy(what);
    setOutcome({ tone: 'info', text: `${what}…` });
    try {
      setOutcome(await action());
    } catch (e) {
      setOutcome({ tone: 'error', text: `${what} failed: ${(e as Error).message}` });
    } finally {
      setBusy(undefined);
      props.onChange();
    }
  };

  const checkpoint = () =>
    run('Checkpoint', async () => {
      const { 'request-id': id } = await send<TriggerResponse>('POST', `/jobs/${jobId}/checkpoints`, {});
      const status = await awaitOperation(`/jobs/${jobId}/checkpoints/${id}`);
      const failure = failureOf(status);
      if (failure !== undefined) return { tone: 'error', text: `Checkpoint failed: ${failure}` };
      return { tone: 'ok', text: `Checkpoint ${status.operation?.checkpointId ?? ''} completed.` };
    });

  const savepoint = () =>
    run('Savepoint', async () => {
      const body =
        target.trim() === ''
          ? { 'cancel-job': false }
          : { 'cancel-job': false, 'target-directory': target.trim() };
      const { 'request-id': id } = await send<TriggerResponse>('POST', `/jobs/${jobId}/savepoints`, body);
      const status = await awaitOperation(`/jobs/${jobId}/savepoints/${id}`);
      const failure = failureOf(status);
      if (failure !== undefined) return { tone: 'error', text: `Savepoint failed: ${failure}` };
      setSavepointOpen(false);
      return { tone: 'ok', text: `Savepoint completed at ${status.operation?.location ?? '?'}.` };
    });

  const cancel = () => {
    if (
      !window.confirm('Cancel this job? Its tasks stop; a retained checkpoint or a savepoint can resume it.')
    )
      return;
    void run('Cancel', async () => {
      await send('PATCH', `/jobs/${jobId}?mode=cancel`);
      return { tone: 'ok', text: 'Cancellation requested.' };
    });
  };

  return (
    <div class="job-actions">
      <div class="buttons">
        <button
          class="btn"
          disabled={!props.running || busy !== undefined}
          onClick={() => void checkpoint()}
          data-testid="trigger-checkpoint"
        >
          Trigger checkpoint
        </button>
        <button
          class="btn"
          disabled={!props.running || busy !== undefined}
          onClick={() => setSavepointOpen(!savepointOpen)}
          data-testid="trigger-savepoint"
        >
          Trigger savepoint
        </button>
        <button
          class="btn btn-danger"
          disabled={!props.running || busy !== undefined}
          onClick={cancel}
          data-testid="cancel-job"
        >
          Cancel job
        </button>
      </div>
      {savepointOpen && (
        <form
          class="savepoint-form"
          onSubmit={(e) => {
            e.preventDefault();
            void savepoint();
          }}
        >
          <input
            class="input"
            placeholder="Target directory (optional when execution.checkpointing.savepoint-dir is set)"
            value={target}
            onInput={(e) => setTarget((e.target as HTMLInputElement).value)}
          />
          <button class="btn btn-primary" type="submit" disabled={busy !== undefined}>
            Start savepoint
          </button>
        </form>
      )}
      {outcome !== undefined && (
        <div class={`action-outcome outcome-${outcome.tone}`} role="status" data-testid="action-outcome">
          {outcome.text}
        </div>
      )}
    </div>
  );
}

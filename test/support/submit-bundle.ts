/** A `submitJob` for REST tests: loads an uploaded job bundle in this process and runs it on a LocalExecutor. */
import { loadJobSubmissions } from '../../src/cluster/job-bundle.js';
import type { LocalExecutor } from '../../src/cluster/local-executor.js';
import { Configuration } from '../../src/core/configuration.js';
import type { JobSubmitRequest } from '../../src/rest/rest-backend.js';
import type { SubmitJob } from '../../src/rest/local-rest-backend.js';

/**
 * What a JobManager does with `POST /jars/:jarid/run`: the request's settings become the job's
 * configuration, the bundle's `execute()` hands over its submission, and `executor` runs it.
 */
export function submitBundleTo(executor: LocalExecutor): SubmitJob {
  return async (request: JobSubmitRequest) => {
    const configuration = new Configuration().addAll(request.configuration, 'flinkConfiguration');
    if (request.savepointPath !== undefined)
      configuration.setString('execution.state-recovery.path', request.savepointPath);
    if (request.allowNonRestoredState)
      configuration.setString('execution.state-recovery.ignore-unclaimed-state', 'true');
    const [submission] = await loadJobSubmissions(request.bundle, {
      configuration,
      argv: request.args,
      count: 1,
      parallelism: request.parallelism,
    });
    const client = await executor.execute(submission!);
    return client.jobId;
  };
}

/** Publishes the exactly-once JetStream sink's committables once their checkpoint completed. */
import type { CommitRequest, Committer } from '../../api/committer.js';
import type { JetStreamCommittable } from './jetstream-committable.js';
import type { JetStreamPublisher } from './jetstream-publisher.js';

/** Attempts before a batch that cannot be published fails the job. */
const MAX_COMMIT_ATTEMPTS = 3;

export class JetStreamCommitter implements Committer<JetStreamCommittable> {
  constructor(private readonly publisher: JetStreamPublisher) {}

  /**
   * Publishing a committable twice is harmless: its message ids are the same, and the stream's
   * duplicate window drops the second copy (so a partly published batch is simply published again).
   */
  async commit(requests: readonly CommitRequest<JetStreamCommittable>[]): Promise<void> {
    for (const request of requests) {
      const { id, subjects, payloads } = request.getCommittable();
      try {
        await this.publisher.publishAll(id, subjects, payloads);
      } catch (e) {
        if (request.getNumberOfRetries() + 1 < MAX_COMMIT_ATTEMPTS) request.retryLater();
        else request.signalFailedWithUnknownReason(e);
      }
    }
  }

  close(): void {
    this.publisher.close();
  }
}

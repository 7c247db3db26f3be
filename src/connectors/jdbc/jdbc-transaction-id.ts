/**
 * Names of the exactly-once sink's prepared transactions:
 * `<prefix>:<operator id>:<subtask>:<checkpoint>:<n>`, where `<checkpoint>` is the checkpoint
 * after which the transaction began (the restored one, or 0, for the first) and `<n>` counts
 * preparations since. Deterministic, so that after a restore from checkpoint R every transaction
 * of this sink named R or later is known to hold records the restored job writes again.
 */

export interface TransactionIdPattern {
  readonly prefix: string;
  readonly operatorId: string;
}

export function transactionId(
  p: TransactionIdPattern,
  subtask: number,
  checkpoint: number,
  n: number,
): string {
  return `${p.prefix}:${p.operatorId}:${subtask}:${checkpoint}:${n}`;
}

/** The LIKE pattern matching every transaction of this sink, all subtasks. */
export function transactionIdLike(p: TransactionIdPattern): string {
  return `${p.prefix}:${p.operatorId}:%`.replace(/_/g, '\\_');
}

/** Subtask and checkpoint of a transaction id of this sink, or undefined for another sink's. */
export function parseTransactionId(
  p: TransactionIdPattern,
  id: string,
): { subtask: number; checkpoint: number } | undefined {
  const head = `${p.prefix}:${p.operatorId}:`;
  if (!id.startsWith(head)) return undefined;
  const [subtask, checkpoint] = id.slice(head.length).split(':').map(Number);
  if (!Number.isInteger(subtask) || !Number.isInteger(checkpoint)) return undefined;
  return { subtask: subtask!, checkpoint: checkpoint! };
}

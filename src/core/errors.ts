/** Sluice's error type and the registry of permanent error codes (documented in docs/errors.md). */

/** Who has to act on an error: the user (fix the job or config), the outside world, or us. */
export type ErrorClassification = 'user' | 'external' | 'internal';

interface CodeInfo {
  readonly classification: ErrorClassification;
  readonly retryable: boolean;
  readonly summary: string;
}

/**
 * Every error code Sluice has ever used. Codes are permanent: a retired code stays here with
 * `retired` in its summary and is never reused. docs/errors.md documents each one (a test checks).
 */
export const ErrorCodes = {
  SLUICE_CONFIG_INVALID_VALUE: {
    classification: 'user',
    retryable: false,
    summary: 'A configuration value has the wrong form or is out of range.',
  },
  SLUICE_CONFIG_INVALID_FILE: {
    classification: 'user',
    retryable: false,
    summary: 'A configuration file, or the directory said to hold one, cannot be read or is malformed.',
  },
  SLUICE_PROGRAM_INVALID: {
    classification: 'user',
    retryable: false,
    summary: 'The job program is invalid (bad parallelism, no sink, wrong API use) and was not started.',
  },
  SLUICE_PARAMETER_INVALID: {
    classification: 'user',
    retryable: false,
    summary:
      'A job parameter (ParameterTool) is missing, not of the type asked for, or the arguments are not --key value pairs.',
  },
  SLUICE_KEY_NOT_HASHABLE: {
    classification: 'user',
    retryable: false,
    summary: 'A key cannot be hashed stably (undefined, function, symbol, or an object with such a field).',
  },
  SLUICE_STATE_INVALID_ACCESS: {
    classification: 'user',
    retryable: false,
    summary: 'Keyed state was used without a current key or declared incompatibly.',
  },
  SLUICE_STATE_MIGRATION_FAILED: {
    classification: 'user',
    retryable: false,
    summary:
      "A restored state was written by a serializer the state's declaration cannot read, and no migration path was given.",
  },
  SLUICE_USER_FUNCTION_FAILED: {
    classification: 'user',
    retryable: true,
    summary: 'A user function threw; the job failed with the operator, subtask and cause.',
  },
  SLUICE_WINDOW_NO_TIMESTAMP: {
    classification: 'user',
    retryable: false,
    summary: 'A record without an event timestamp reached an event-time window or an interval join.',
  },
  SLUICE_SERIALIZATION_FAILED: {
    classification: 'user',
    retryable: false,
    summary: 'A record could not be serialized or deserialized for a network exchange.',
  },
  SLUICE_JOB_CANCELLED: {
    classification: 'user',
    retryable: false,
    summary: 'The job was cancelled before it finished.',
  },
  SLUICE_JOB_FAILED: {
    classification: 'user',
    retryable: false,
    summary:
      'A job watched through the REST API (`sluice run --jobmanager`) failed; the message has its root exception.',
  },
  SLUICE_CLI_USAGE: {
    classification: 'user',
    retryable: false,
    summary: 'The sluice command was called with wrong arguments or a job file that cannot be loaded.',
  },
  SLUICE_CHECKPOINT_STORAGE_FAILED: {
    classification: 'external',
    retryable: true,
    summary: 'Checkpoint storage could not be read or written (an I/O error from the file system).',
  },
  SLUICE_CHECKPOINT_CORRUPT: {
    classification: 'external',
    retryable: false,
    summary: 'A checkpoint metadata or state file is damaged: bad magic, version, length or checksum.',
  },
  SLUICE_CHECKPOINT_NOT_FOUND: {
    classification: 'user',
    retryable: false,
    summary: 'A checkpoint, savepoint or one of its state files does not exist where it was looked for.',
  },
  SLUICE_CHECKPOINT_STATE_TOO_LARGE: {
    classification: 'user',
    retryable: false,
    summary: 'A state handle is larger than jobmanager checkpoint storage allows (5 MB by default).',
  },
  SLUICE_CHECKPOINT_FAILED: {
    classification: 'external',
    retryable: true,
    summary:
      'More consecutive checkpoints failed than execution.checkpointing.tolerable-failed-checkpoints allows.',
  },
  SLUICE_SAVEPOINT_FAILED: {
    classification: 'external',
    retryable: true,
    summary: 'A savepoint or stop-with-savepoint did not complete; the job keeps running.',
  },
  SLUICE_SAVEPOINT_DISPOSE_REFUSED: {
    classification: 'user',
    retryable: false,
    summary: 'The path given to `sluice savepoint --dispose` is not a savepoint, so nothing was deleted.',
  },
  SLUICE_INSPECT_FAILED: {
    classification: 'user',
    retryable: false,
    summary:
      '`sluice inspect` cannot show what was asked: no such operator or state, or a serializer only the job knows.',
  },
  SLUICE_RESTORE_FAILED: {
    classification: 'user',
    retryable: false,
    summary:
      'A job cannot be restored from the given checkpoint or savepoint (unusable, or not matching the job).',
  },
  SLUICE_RESTORE_FELL_BACK: {
    classification: 'external',
    retryable: false,
    summary:
      'Recovery passed over newer checkpoints that cannot be read: output after the one restored is produced again.',
  },
  SLUICE_RESTORE_STATE_UNREADABLE: {
    classification: 'external',
    retryable: false,
    summary:
      'A task cannot read a state file of the checkpoint it restores from (missing, damaged, unreadable): that checkpoint is unusable.',
  },
  SLUICE_NETWORK_HANDSHAKE_FAILED: {
    classification: 'user',
    retryable: false,
    summary:
      'An internal connection failed authentication: wrong security.cluster.secret or protocol version.',
  },
  SLUICE_NETWORK_BAD_FRAME: {
    classification: 'external',
    retryable: true,
    summary: 'A peer sent a malformed, oversized, truncated or unknown frame; the connection was closed.',
  },
  SLUICE_NETWORK_CHANNEL_FAILED: {
    classification: 'external',
    retryable: true,
    summary: 'A remote data channel was lost: connection closed, producer released, or partition not found.',
  },
  SLUICE_RPC_BAD_MESSAGE: {
    classification: 'external',
    retryable: true,
    summary:
      'A peer sent a control-plane message that does not decode, has the wrong shape or the wrong direction; the connection was closed.',
  },
  SLUICE_RPC_UNREACHABLE: {
    classification: 'external',
    retryable: true,
    summary:
      'The JobManager could not be reached (refused, unresolvable, silent) or registration did not succeed in time.',
  },
  SLUICE_RPC_TIMEOUT: {
    classification: 'external',
    retryable: true,
    summary: 'A control-plane request got no answer within its timeout.',
  },
  SLUICE_RPC_CONNECTION_LOST: {
    classification: 'external',
    retryable: true,
    summary: 'A control-plane connection closed or failed; requests still waiting on it failed.',
  },
  SLUICE_RPC_REMOTE_FAILED: {
    classification: 'external',
    retryable: true,
    summary: 'The peer received a control-plane request but failed to answer it; the cause is its error.',
  },
  SLUICE_HEARTBEAT_TARGET_LOST: {
    classification: 'external',
    retryable: true,
    summary:
      'A TaskManager or the JobManager was lost: heartbeat timeout, failed heartbeat requests, or a closed connection.',
  },
  SLUICE_NO_RESOURCES: {
    classification: 'external',
    retryable: true,
    summary:
      'Not enough task slots were registered within slot.request.timeout to deploy the job (Flink: NoResourceAvailableException).',
  },
  SLUICE_REST_PORT_IN_USE: {
    classification: 'user',
    retryable: false,
    summary: 'The REST API cannot listen on rest.port because another process already uses that port.',
  },
  SLUICE_REST_UNPROTECTED: {
    classification: 'user',
    retryable: false,
    summary:
      'A JobManager would take job submissions on a non-loopback REST address without authentication (a token or mutual TLS).',
  },
  SLUICE_REST_PATH_NOT_ALLOWED: {
    classification: 'user',
    retryable: false,
    summary:
      'A path given over REST (a restore path, a checkpoint directory) lies outside rest.allowed-paths.',
  },
  SLUICE_SUBMISSION_FAILED: {
    classification: 'user',
    retryable: false,
    summary:
      'A job module submitted over REST could not be evaluated: it threw, exceeded client.timeout or its memory limit, or its process died.',
  },
  SLUICE_USER_CODE_PROCESS_LOST: {
    classification: 'user',
    retryable: false,
    summary:
      "The process running a submitted job's split enumerators exited or stopped answering (out of memory, killed); the job fails.",
  },
  SLUICE_SINK_COMMIT_FAILED: {
    classification: 'external',
    retryable: true,
    summary:
      "A two-phase-commit sink's committer could not commit what a completed checkpoint holds (the target refused or lost it).",
  },
  SLUICE_SOURCE_RECORD_INVALID: {
    classification: 'user',
    retryable: false,
    summary:
      'A source read a record it cannot parse (a line of a file that is not JSON); the message names the file and line.',
  },
  SLUICE_TESTING_HARNESS_MISUSE: {
    classification: 'user',
    retryable: false,
    summary: 'A test harness of sluice/testing was called out of order or with a value it cannot take.',
  },
  SLUICE_CONNECTOR_FAILED: {
    classification: 'external',
    retryable: true,
    summary:
      'An external system a connector writes to or reads from (PostgreSQL, NATS JetStream) failed or lost its connection.',
  },
  SLUICE_CONNECTOR_MISCONFIGURED: {
    classification: 'user',
    retryable: false,
    summary:
      'An external system is not set up as a connector needs (PostgreSQL max_prepared_transactions = 0, a JetStream stream that does not exist).',
  },
  SLUICE_INTERNAL_ASSERTION: {
    classification: 'internal',
    retryable: false,
    summary: 'An internal invariant was broken: a bug in Sluice. Please report it with the message.',
  },
} as const satisfies Record<string, CodeInfo>;

/** One of the permanent error codes. */
export type ErrorCode = keyof typeof ErrorCodes;

/** Base class of every error Sluice throws; `code` is permanent and documented in docs/errors.md. */
export class SluiceError extends Error {
  /** Permanent code, `SLUICE_<AREA>_<WHAT>`. */
  readonly code: ErrorCode;
  /** Whose move it is: the user, an external system, or Sluice itself. */
  readonly classification: ErrorClassification;
  /** Whether retrying (restarting the job) can help. */
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SluiceError';
    this.code = code;
    this.classification = ErrorCodes[code].classification;
    this.retryable = ErrorCodes[code].retryable;
  }
}

/** Throws an internal assertion error naming the broken invariant when `condition` is false. */
export function invariant(condition: unknown, what: string): asserts condition {
  if (!condition) throw new SluiceError('SLUICE_INTERNAL_ASSERTION', `invariant violated: ${what}`);
}

/** A program-validation error (rejected before anything runs). */
export function invalidProgram(message: string): SluiceError {
  return new SluiceError('SLUICE_PROGRAM_INVALID', message);
}

/** Checkpoint storage: state handles, the `_metadata` format, the storage contract and its implementations. */
export {
  OPERATOR_STATE_MODES,
  STATE_SCOPES,
  keyGroupBounds,
  keyGroupRangeSize,
  relativePathProblem,
  stateSize,
} from './state-handle.js';
export type {
  FileStateHandle,
  InlineStateHandle,
  KeyedStateHandle,
  OperatorStateHandle,
  OperatorStateMode,
  StateScope,
  StreamStateHandle,
} from './state-handle.js';
export {
  METADATA_FORMAT_VERSION,
  METADATA_MAGIC,
  SUPPORTED_METADATA_VERSIONS,
  decodeMetadata,
  encodeMetadata,
} from './checkpoint-metadata.js';
export type {
  CheckpointMetadata,
  MasterState,
  OperatorSnapshot,
  SubtaskSnapshot,
} from './checkpoint-metadata.js';
export {
  CHECKPOINT_DIR_PREFIX,
  DEFAULT_INLINE_THRESHOLD,
  MAX_INLINE_THRESHOLD,
  METADATA_FILE_NAME,
  NOT_EXTERNALLY_ADDRESSABLE,
  SHARED_STATE_DIR,
  TASK_OWNED_STATE_DIR,
} from './checkpoint-storage.js';
export type {
  CheckpointListing,
  CheckpointStorage,
  CheckpointStorageLocation,
  CompletedCheckpointLocation,
  ResolvedCheckpoint,
} from './checkpoint-storage.js';
export { createCheckpointStorage } from './create-checkpoint-storage.js';
export type { CheckpointStorageOptions } from './create-checkpoint-storage.js';
export {
  DEFAULT_MAX_STATE_SIZE,
  JobManagerCheckpointStorage,
} from './memory/job-manager-checkpoint-storage.js';
export type { JobManagerCheckpointStorageOptions } from './memory/job-manager-checkpoint-storage.js';
export {
  FileSystemCheckpointStorage,
  readFileState,
  resolveFileCheckpoint,
} from './filesystem/file-system-checkpoint-storage.js';
export type { FileSystemCheckpointStorageOptions } from './filesystem/file-system-checkpoint-storage.js';
export { parseCheckpointDirectory } from './filesystem/file-paths.js';
export { crc32c } from './crc32c.js';

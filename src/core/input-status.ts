/** What one `pollNext` of a source reader left behind (Flink's flink-core InputStatus). */
export type InputStatus = 'MORE_AVAILABLE' | 'NOTHING_AVAILABLE' | 'END_OF_INPUT';

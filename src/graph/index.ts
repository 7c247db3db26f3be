/** The graph layer: logical plan, stream graph, job graph. */
export * from './partitioner.js';
export * from './transformation.js';
export * from './stream-node.js';
export * from './stream-graph.js';
export * from './job-graph.js';
export * from './operator-ids.js';

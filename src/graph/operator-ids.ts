/**
 * Stable operator ids: from `uid()` when given, otherwise from the graph's shape (as Flink's
 * StreamGraphHasherV2), never from creation order at run time. Parallelism and names are left
 * out on purpose, so rescaling or renaming keeps the ids that restored state is matched by.
 */
import { createHash } from 'node:crypto';
import { invariant } from '../core/errors.js';
import { operatorId, type OperatorId } from '../core/ids.js';
import type { StreamNode } from './stream-node.js';

function digest(parts: readonly string[]): OperatorId {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\u0000');
  return operatorId(h.digest('hex').slice(0, 32));
}

/** The operator id `uid(uid)` gives, the same in every job and version. */
export function operatorIdFromUid(uid: string): OperatorId {
  return digest(['sluice-uid-v1', uid]);
}

/** Sets `operatorId` on every node, visiting breadth-first from the sources. */
export function assignOperatorIds<F>(nodes: readonly StreamNode<F>[]): void {
  const hashed = new Map<StreamNode<F>, OperatorId>();
  const queue = nodes.filter((n) => n.inEdges.length === 0);
  const queued = new Set(queue);
  while (queue.length > 0) {
    const node = queue.shift()!;
    if (node.inEdges.some((e) => !hashed.has(e.source))) {
      // Not all inputs are hashed yet: visit again once they are.
      queue.push(node);
      continue;
    }
    const uid = node.transformation.uid;
    const id =
      uid !== undefined
        ? operatorIdFromUid(uid)
        : digest([
            'sluice-node-v1',
            String(hashed.size),
            node.transformation.kind,
            String(node.outEdges.length),
            ...node.inEdges.map((e) => hashed.get(e.source)!),
          ]);
    hashed.set(node, id);
    node.operatorId = id;
    for (const e of node.outEdges) {
      if (!queued.has(e.target)) {
        queued.add(e.target);
        queue.push(e.target);
      }
    }
  }
  invariant(hashed.size === nodes.length, 'every stream node is reachable from a source');
  const ids = new Set(hashed.values());
  invariant(ids.size === nodes.length, 'operator ids are unique');
}

import { HeapKeyedStateBackend } from '../src/state/heap/heap-keyed-state-backend.js';
import { ValueStateDescriptor } from '../src/state/state-descriptor.js';
const N = 1_000_000;
const b = new HeapKeyedStateBackend<number>({ maxParallelism: 128, keyGroupRange: { start: 0, end: 127 } });
const v = b.getOrCreateKeyedState(new ValueStateDescriptor<{ n: number; sum: number }>('acc'));
for (let k = 0; k < N; k++) { b.setCurrentKey(k); v.update({ n: 5, sum: k }); }
for (let rep = 0; rep < 6; rep++) await b.snapshot(rep + 1).write();

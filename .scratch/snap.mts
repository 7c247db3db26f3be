import { HeapKeyedStateBackend } from '../src/state/heap/heap-keyed-state-backend.js';
import { ValueStateDescriptor } from '../src/state/state-descriptor.js';
const N = 1_000_000;
const b = new HeapKeyedStateBackend<number>({ maxParallelism: 128, keyGroupRange: { start: 0, end: 127 } });
const v = b.getOrCreateKeyedState(new ValueStateDescriptor<{ n: number; sum: number }>('acc'));
for (let k = 0; k < N; k++) { b.setCurrentKey(k); v.update({ n: 5, sum: k }); }
for (let rep = 0; rep < 4; rep++) {
  const c0 = process.cpuUsage(); const t0 = performance.now();
  const snap = await b.snapshot(rep + 1).write();
  const c1 = process.cpuUsage(c0);
  console.log('snapshot write', (performance.now() - t0).toFixed(0), 'ms wall', ((c1.user + c1.system) / 1000).toFixed(0), 'ms cpu', (snap.data.length / 2 ** 20).toFixed(1), 'MiB');
}
// records path: setCurrentKey + value + update
for (let rep = 0; rep < 3; rep++) {
  const c0 = process.cpuUsage();
  for (let k = 0; k < N; k++) { b.setCurrentKey(k); const a = v.value()!; a.n++; v.update(a); }
  const c1 = process.cpuUsage(c0);
  console.log('1M in-place updates', ((c1.user + c1.system) / 1000).toFixed(0), 'ms cpu');
}
// records path while a snapshot is pinned (all freeze)
for (let rep = 0; rep < 2; rep++) {
  const run = b.snapshot(100 + rep);
  const c0 = process.cpuUsage();
  for (let k = 0; k < N; k++) { b.setCurrentKey(k); const a = v.value()!; a.n++; v.update(a); }
  const c1 = process.cpuUsage(c0);
  console.log('1M in-place updates while pinned', ((c1.user + c1.system) / 1000).toFixed(0), 'ms cpu');
  const c2 = process.cpuUsage();
  await run.write();
  const c3 = process.cpuUsage(c2);
  console.log('  then write (all frozen)', ((c3.user + c3.system) / 1000).toFixed(0), 'ms cpu');
}

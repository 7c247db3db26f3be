import { MsgpackSerializer } from '../src/core/serializer.js';
import { crc32c } from '../src/storage/crc32c.js';
const s = new MsgpackSerializer<unknown>();
const N = 1_000_000;
const vals = Array.from({ length: N }, (_, k) => ({ n: 5, sum: k * 5 }));
for (let rep = 0; rep < 3; rep++) {
  let c0 = process.cpuUsage(); let t = 0;
  for (let k = 0; k < N; k++) t += s.serializeToScratch!(k).end;
  let c1 = process.cpuUsage(c0); console.log('keys', (c1.user / 1000).toFixed(0), 'ms');
  c0 = process.cpuUsage();
  for (let k = 0; k < N; k++) t += s.serializeToScratch!(vals[k]).end;
  c1 = process.cpuUsage(c0); console.log('values', (c1.user / 1000).toFixed(0), 'ms');
  c0 = process.cpuUsage();
  for (let k = 0; k < N; k += 1000) t += s.serializeToScratch!(vals.slice(k, k + 1000)).end;
  c1 = process.cpuUsage(c0); console.log('values batched 1000', (c1.user / 1000).toFixed(0), 'ms');
  const big = new Uint8Array(27 << 20).fill(7);
  c0 = process.cpuUsage(); crc32c(big); c1 = process.cpuUsage(c0); console.log('crc32c 27MiB', (c1.user / 1000).toFixed(0), 'ms');
}

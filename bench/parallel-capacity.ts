/**
 * How much parallel CPU the machine gives two processes at this moment: two child processes
 * spin the same loop side by side, against one alone. About 2 means two free cores; about 1
 * means the two shared one (a busy host), and then no two-process figure can beat one process.
 * The cluster figures print it next to their samples, so a low ratio can be read for what it is.
 */
import { spawn } from 'node:child_process';

/** A child that spins a fixed loop for `ms` of wall time and prints how many rounds it did. */
function spin(ms: number): Promise<number> {
  const code =
    `let x = 0, n = 0; const end = Date.now() + ${ms};` +
    'while (Date.now() < end) { for (let i = 0; i < 1e5; i++) x = (x * 1103515245 + 12345) | 0; n++; }' +
    'process.stdout.write(String(n + (x & 0)));';
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (out += chunk));
    child.once('error', reject);
    child.once('close', (status) =>
      status === 0 ? resolve(Number(out)) : reject(new Error(`capacity probe exited with ${status}`)),
    );
  });
}

/** Rounds two processes did side by side, over the rounds one did alone in the same time. */
export async function parallelCapacity(ms = 400): Promise<number> {
  const alone = await spin(ms);
  const [a, b] = await Promise.all([spin(ms), spin(ms)]);
  return (a + b) / Math.max(1, alone);
}

/** Whether a process runs: how directories named after a pid are told from those of a process that is gone. */

/** Whether process `pid` runs (as any user). A reused pid counts as running: when in doubt, keep. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it runs, as another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

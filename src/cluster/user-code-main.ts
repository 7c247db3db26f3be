/** Entry point of the user-code process a JobManager starts per submitted job: serves the pipe on file descriptor 3. */
import { Socket } from 'node:net';
import { serveUserCode } from './user-code-process.js';
import '../index.js';

// User code may throw from a timer or leave a promise rejected: the process ends, and the
// JobManager reports it with the tail of stderr, where Node prints the error.
const pipe = new Socket({ fd: 3, readable: true, writable: true });
serveUserCode(pipe, (code) => process.exit(code));

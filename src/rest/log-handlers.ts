/**
 * The log pages of the JobManager and the TaskManagers (Flink's JobManagerLogFileHandler,
 * JobManagerLogListHandler, TaskManagerLogFileHandler, TaskManagerLogListHandler, … and their
 * stdout siblings): file contents as text/plain, lists as `{ logs: [{ name, size, mtime }] }`.
 * A file is named by a plain name only: one with a directory part is refused, never resolved.
 */
import {
  isPlainFileName,
  listLogFiles,
  logDirectoryOf,
  readFileTail,
  readLogFile,
  type LogFileEntry,
} from '../core/log-files.js';
import type { HandlerContext } from './handler-context.js';
import { RestHandlerException, type RestResponse, type Route } from './rest-router.js';

/** Flink's LogListInfo. */
export interface LogListInfo {
  readonly logs: readonly LogFileEntry[];
}

/** The routes of the log pages. */
export function logRoutes(ctx: HandlerContext): Route[] {
  const files = () => ctx.logFiles?.() ?? {};
  const jobManagerDir = (): string | undefined => logDirectoryOf(files());
  return [
    {
      method: 'GET',
      path: '/jobmanager/log',
      handle: async () => jobManagerFile(files().log, 'log'),
    },
    {
      method: 'GET',
      path: '/jobmanager/stdout',
      handle: async () => jobManagerFile(files().stdout, 'stdout'),
    },
    {
      method: 'GET',
      path: '/jobmanager/logs',
      handle: async () => {
        const dir = jobManagerDir();
        const body: LogListInfo = { logs: dir === undefined ? [] : await listLogFiles(dir) };
        return { status: 200, body };
      },
    },
    {
      method: 'GET',
      path: '/jobmanager/logs/:filename',
      handle: async (req) => {
        const name = plainName(req.params['filename']!);
        const dir = jobManagerDir();
        const content = dir === undefined ? undefined : await readLogFile(dir, name);
        if (!content)
          throw new RestHandlerException(
            404,
            `The file ${name} does not exist in the JobManager's log directory.`,
          );
        return text(content);
      },
    },
    {
      method: 'GET',
      path: '/taskmanagers/:taskmanagerid/log',
      handle: (req) => taskManagerFile(ctx, req.params['taskmanagerid']!, 'log'),
    },
    {
      method: 'GET',
      path: '/taskmanagers/:taskmanagerid/stdout',
      handle: (req) => taskManagerFile(ctx, req.params['taskmanagerid']!, 'stdout'),
    },
    {
      method: 'GET',
      path: '/taskmanagers/:taskmanagerid/logs',
      handle: async (req) => {
        const id = req.params['taskmanagerid']!;
        const logs = ctx.backend.taskManagerLogList ? await ctx.backend.taskManagerLogList(id) : 'unknown';
        if (logs === 'unknown') throw unknownTaskManager(id);
        const body: LogListInfo = { logs };
        return { status: 200, body };
      },
    },
    {
      method: 'GET',
      path: '/taskmanagers/:taskmanagerid/logs/:filename',
      handle: async (req) => {
        const id = req.params['taskmanagerid']!;
        const name = plainName(req.params['filename']!);
        const content = ctx.backend.taskManagerLogFile
          ? await ctx.backend.taskManagerLogFile(id, name)
          : ('unknown' as const);
        if (content === 'unknown') throw unknownTaskManager(id);
        if (content === 'missing')
          throw new RestHandlerException(404, `The file ${name} does not exist on the TaskExecutor ${id}.`);
        return text(content);
      },
    },
  ];
}

/** A requested file name, refused (400) when it has a directory part or is `.`/`..`. */
function plainName(name: string): string {
  if (!isPlainFileName(name))
    throw new RestHandlerException(
      400,
      `Invalid log file name "${name}": name a file of the log directory, without '/' or '..'.`,
    );
  return name;
}

function text(content: Uint8Array): RestResponse {
  return { status: 200, body: undefined, text: Buffer.from(content).toString('utf8') };
}

async function jobManagerFile(path: string | undefined, file: 'log' | 'stdout'): Promise<RestResponse> {
  const content = path === undefined ? undefined : await readFileTail(path);
  if (!content)
    throw new RestHandlerException(
      404,
      `The JobManager keeps no ${file} file: set log.file or env.log.dir (sluice jobmanager keeps both by default).`,
    );
  return text(content);
}

function unknownTaskManager(id: string): RestHandlerException {
  return new RestHandlerException(
    404,
    `Failed to transfer file from TaskExecutor ${id} because it was unknown.`,
  );
}

/** A TaskManager's log or stdout file as plain text, as Flink's TaskManagerLogFileHandler / TaskManagerStdoutFileHandler. */
async function taskManagerFile(
  ctx: HandlerContext,
  taskManagerId: string,
  file: 'log' | 'stdout',
): Promise<RestResponse> {
  const content = ctx.backend.taskManagerFile
    ? await ctx.backend.taskManagerFile(taskManagerId, file)
    : ('unknown' as const);
  if (content === 'unknown') throw unknownTaskManager(taskManagerId);
  if (content === 'missing')
    throw new RestHandlerException(
      404,
      `The file ${file.toUpperCase()} does not exist on the TaskExecutor ${taskManagerId}: a TaskManager of a local cluster ` +
        'passes its output to sluice run; a standalone one (sluice taskmanager), or one with env.log.dir set, keeps it in files.',
    );
  return text(content);
}

/** Handlers of Flink's jar endpoints for job bundles: upload, list, delete, run (job submission over REST). */
import busboy from 'busboy';
import { SluiceError } from '../core/errors.js';
import { logger } from '../core/log.js';
import type { HandlerContext } from './handler-context.js';
import type { JarStore, StoredJar } from './jar-store.js';
import type { JobSubmitRequest, RestBackend } from './rest-backend.js';
import { RestHandlerException, type RestRequest, type RestResponse, type Route } from './rest-router.js';
import type { JarListInfo, JarRunResponseBody, JarUploadResponseBody } from './rest-schema.js';

const log = logger('rest-jars');

/** File names a job bundle may have: esbuild writes ESM, so `.mjs` (or `.js`). */
const BUNDLE_NAME = /\.(?:mjs|js)$/u;

/** The routes of the jar endpoints, over the server's bundle store; `address` is the server's URL. */
export function jarRoutes(ctx: HandlerContext, jars: JarStore, address: () => string): Route[] {
  return [
    {
      method: 'GET',
      path: '/jars',
      action: 'submit',
      handle: () => {
        requireSubmissions(ctx.backend);
        const body: JarListInfo = {
          address: address(),
          files: jars
            .list()
            .map((jar) => ({ id: jar.id, name: jar.name, uploaded: jar.uploaded, entry: [] })),
        };
        return { status: 200, body };
      },
    },
    {
      method: 'POST',
      path: '/jars/upload',
      body: 'multipart',
      action: 'submit',
      handle: async (request) => {
        requireSubmissions(ctx.backend);
        const files = await uploadedFiles(request);
        if (files.length !== 1)
          throw new RestHandlerException(400, `Exactly 1 file must be sent, received ${files.length}.`);
        const file = files[0]!;
        if (!BUNDLE_NAME.test(file.name))
          throw new RestHandlerException(
            400,
            `Only job bundles (.mjs or .js files) are allowed, not "${file.name}"; \`sluice run --jobmanager\` bundles a job file and uploads it.`,
          );
        const jar = jars.add(file.name, file.bytes, ctx.now());
        log.info({ jarId: jar.id, bytes: jar.bytes.length }, 'job bundle uploaded');
        return { status: 200, body: { filename: jar.id, status: 'success' } satisfies JarUploadResponseBody };
      },
    },
    {
      method: 'DELETE',
      path: '/jars/:jarid',
      action: 'submit',
      handle: (request) => {
        requireSubmissions(ctx.backend);
        const jar = requireJar(jars, request);
        jars.delete(jar.id);
        return { status: 200, body: {} };
      },
    },
    {
      method: 'POST',
      path: '/jars/:jarid/run',
      action: 'submit',
      handle: (request) => runJar(ctx.backend, jars, request),
    },
  ];
}

/**
 * Without `submitJob` the cluster takes no jobs over REST. Flink then has no jar handlers at all
 * (`web.submit.enable: false`), so clients get 404 from every /jars path; Sluice answers the same
 * status, with a message saying why, and reports `web-submit: false` in /config as Flink does.
 */
function requireSubmissions(
  backend: RestBackend,
): asserts backend is RestBackend & Required<Pick<RestBackend, 'submitJob'>> {
  if (backend.submitJob === undefined) throw noSubmissions();
}

/** The 404 of every /jars path on a cluster that takes no submissions. */
export function noSubmissions(): RestHandlerException {
  return new RestHandlerException(
    404,
    'This cluster takes no job submissions (web.submit.enable: false, or a `sluice run` process, which ' +
      'runs the jobs of its own command line). Submit jobs to a `sluice jobmanager` that takes them.',
  );
}

function requireJar(jars: JarStore, request: RestRequest): StoredJar {
  const id = request.params['jarid'] ?? '';
  const jar = jars.get(id);
  // Flink answers 400 here; 404 says better that the id is unknown (upload the bundle again).
  if (!jar)
    throw new RestHandlerException(404, `Jar file ${id} does not exist; upload it with POST /jars/upload.`);
  return jar;
}

/** A file of a multipart upload. */
interface UploadedFile {
  readonly name: string;
  readonly bytes: Buffer;
}

/**
 * The files of a multipart/form-data body (any field name; Flink's clients use `jarfile`), parsed
 * as the body streams in: the upload is held once, as its files.
 */
function uploadedFiles(request: RestRequest): Promise<UploadedFile[]> {
  const contentType = request.headers['content-type'] ?? '';
  if (!/^multipart\/form-data\s*;/iu.test(contentType))
    throw new RestHandlerException(
      415,
      `Expected a multipart/form-data upload with the job bundle as a file (field "jarfile"), got Content-Type "${contentType}".`,
    );
  const body = request.stream;
  if (!body) throw new Error('the server streams the bodies of multipart routes');
  return new Promise((resolve, reject) => {
    const files: UploadedFile[] = [];
    let failed = false;
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      files.length = 0;
      reject(
        e instanceof RestHandlerException
          ? e
          : new RestHandlerException(
              400,
              `The multipart upload is malformed: ${e instanceof Error ? e.message : String(e)}.`,
            ),
      );
    };
    let parser: busboy.Busboy;
    try {
      // UTF-8 file names (the default charset of parameters is latin1); only the base name is kept.
      parser = busboy({ headers: request.headers, defParamCharset: 'utf8', limits: { files: 2 } });
    } catch (e) {
      fail(e);
      return;
    }
    parser.on('file', (_field, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => {
        if (!failed) chunks.push(chunk);
      });
      stream.on('end', () => files.push({ name: info.filename ?? '', bytes: Buffer.concat(chunks) }));
      stream.on('error', fail);
    });
    parser.on('filesLimit', () =>
      fail(new RestHandlerException(400, 'Exactly 1 file must be sent, received more.')),
    );
    parser.on('error', fail);
    parser.on('close', () => {
      if (!failed) resolve(files);
    });
    body.on('error', fail);
    body.pipe(parser);
  });
}

// --- POST /jars/:jarid/run ---

/** The fields of Flink's JarRunRequestBody (and `programArgs`, which Flink 1.x had). */
const RUN_FIELDS = new Set([
  'entryClass',
  'programArgs',
  'programArgsList',
  'parallelism',
  'jobId',
  'allowNonRestoredState',
  'savepointPath',
  'restoreMode',
  'claimMode',
  'flinkConfiguration',
]);

const CLAIM_MODES = new Set(['CLAIM', 'NO_CLAIM', 'LEGACY']);

async function runJar(backend: RestBackend, jars: JarStore, request: RestRequest): Promise<RestResponse> {
  requireSubmissions(backend);
  const jar = requireJar(jars, request);
  const submit: JobSubmitRequest = { bundle: jar.bytes, fileName: jar.name, ...runSettings(request) };
  let jobId: string;
  try {
    jobId = await backend.submitJob(submit);
  } catch (e) {
    // The user's program failed to start: Flink's JarRunHandler answers 400 "Could not execute
    // application." (the cause goes to the log); the message here also says why.
    const error = e instanceof Error ? e : new Error(String(e));
    log.warn({ err: error, jarId: jar.id }, 'job submission failed');
    const code = error instanceof SluiceError ? ` [${error.code}]` : '';
    // A path outside rest.allowed-paths is refused, not wrong: 403, as Flink answers forbidden access.
    const status = error instanceof SluiceError && error.code === 'SLUICE_REST_PATH_NOT_ALLOWED' ? 403 : 400;
    throw new RestHandlerException(status, `Could not execute application: ${error.message}${code}`);
  }
  return { status: 200, body: { jobid: jobId } satisfies JarRunResponseBody };
}

type RunSettings = Omit<JobSubmitRequest, 'bundle' | 'fileName'>;

/** The run settings of the body, else of the query parameters (Flink prefers the body). */
function runSettings(request: RestRequest): RunSettings {
  const body = runBody(request.body);
  const query = request.query;
  const bodyArgs = body.programArgsList ?? [];
  const bodyArgsText = body.programArgs ?? '';
  if (bodyArgs.length > 0 && bodyArgsText.trim() !== '')
    throw new RestHandlerException(
      400,
      'Confusing request: programArgs and programArgsList are specified, please, use only programArgsList',
    );
  const queryArgs = query.get('programArg');
  const args =
    bodyArgs.length > 0
      ? bodyArgs
      : bodyArgsText.trim() !== ''
        ? tokenizeArguments(bodyArgsText)
        : queryArgs !== null && queryArgs !== ''
          ? queryArgs.split(',')
          : [];
  const parallelism = body.parallelism ?? queryInt(request, 'parallelism');
  const savepointPath = body.savepointPath ?? query.get('savepointPath') ?? undefined;
  const allowNonRestoredState = body.allowNonRestoredState ?? queryBoolean(request, 'allowNonRestoredState');
  // Flink 2.x's claimMode, 1.x's restoreMode (LEGACY, gone in 2.x, never deletes: NO_CLAIM).
  const mode = body.claimMode ?? body.restoreMode;
  const claim =
    mode === undefined
      ? {}
      : { 'execution.state-recovery.claim-mode': mode === 'CLAIM' ? 'CLAIM' : 'NO_CLAIM' };
  return {
    args,
    ...(parallelism === undefined ? {} : { parallelism }),
    ...(savepointPath === undefined || savepointPath === '' ? {} : { savepointPath }),
    allowNonRestoredState: allowNonRestoredState ?? false,
    configuration: { ...(body.flinkConfiguration ?? {}), ...claim },
  };
}

interface RunBody {
  programArgs?: string;
  programArgsList?: string[];
  parallelism?: number;
  allowNonRestoredState?: boolean;
  savepointPath?: string;
  flinkConfiguration?: Record<string, string>;
  claimMode?: string;
  restoreMode?: string;
}

/** Parses and checks the JSON body; null fields count as absent, as Jackson reads them. */
function runBody(text: string): RunBody {
  const malformed = (why: string) =>
    new RestHandlerException(400, `Request did not match expected format JarRunRequestBody: ${why}.`);
  if (text.trim() === '') return {};
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw malformed('the body is not JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw malformed('expected a JSON object');
  const fields = Object.fromEntries(Object.entries(json).filter(([, v]) => v !== null)) as Record<
    string,
    unknown
  >;
  for (const key of Object.keys(fields)) if (!RUN_FIELDS.has(key)) throw malformed(`unknown field "${key}"`);
  const body: RunBody = {};
  const {
    programArgs,
    programArgsList,
    parallelism,
    allowNonRestoredState,
    savepointPath,
    flinkConfiguration,
  } = fields;
  if (programArgs !== undefined) {
    if (typeof programArgs !== 'string') throw malformed('programArgs must be a string');
    body.programArgs = programArgs;
  }
  if (programArgsList !== undefined) {
    if (!Array.isArray(programArgsList) || !programArgsList.every((a) => typeof a === 'string'))
      throw malformed('programArgsList must be an array of strings');
    body.programArgsList = programArgsList;
  }
  if (parallelism !== undefined) {
    if (!Number.isSafeInteger(parallelism) || (parallelism as number) < 1)
      throw malformed('parallelism must be a positive integer');
    body.parallelism = parallelism as number;
  }
  if (allowNonRestoredState !== undefined) {
    if (typeof allowNonRestoredState !== 'boolean')
      throw malformed('allowNonRestoredState must be true or false');
    body.allowNonRestoredState = allowNonRestoredState;
  }
  if (savepointPath !== undefined) {
    if (typeof savepointPath !== 'string') throw malformed('savepointPath must be a string');
    body.savepointPath = savepointPath;
  }
  if (flinkConfiguration !== undefined) {
    if (
      typeof flinkConfiguration !== 'object' ||
      flinkConfiguration === null ||
      Array.isArray(flinkConfiguration) ||
      !Object.values(flinkConfiguration).every((v) => typeof v === 'string')
    )
      throw malformed('flinkConfiguration must map option keys to string values');
    body.flinkConfiguration = Object.fromEntries(
      Object.entries(flinkConfiguration as Record<string, string>),
    );
  }
  for (const mode of ['restoreMode', 'claimMode'] as const) {
    const value = fields[mode];
    if (value === undefined) continue;
    if (typeof value !== 'string' || !CLAIM_MODES.has(value))
      throw malformed(`${mode} must be one of CLAIM, NO_CLAIM, LEGACY`);
    body[mode] = value;
  }
  if (fields['jobId'] !== undefined)
    throw new RestHandlerException(
      400,
      'Choosing the job id (jobId) is not supported: the cluster assigns it.',
    );
  // `entryClass` is accepted and ignored: a bundle has one entry point, its top level.
  return body;
}

function queryInt(request: RestRequest, key: string): number | undefined {
  const text = request.query.get(key);
  if (text === null || text === '') return undefined;
  const n = Number(text);
  if (!/^\d+$/u.test(text) || !Number.isSafeInteger(n) || n < 1)
    throw new RestHandlerException(400, `Cannot resolve query parameter (${key}) from value "${text}".`);
  return n;
}

function queryBoolean(request: RestRequest, key: string): boolean | undefined {
  const text = request.query.get(key);
  if (text === null || text === '') return undefined;
  if (text !== 'true' && text !== 'false')
    throw new RestHandlerException(400, `Cannot resolve query parameter (${key}) from value "${text}".`);
  return text === 'true';
}

/**
 * Splits a command line into arguments on whitespace, keeping quoted parts together (quotes
 * removed), as Flink's JarHandlerUtils.tokenizeArguments.
 */
export function tokenizeArguments(text: string): string[] {
  const args: string[] = [];
  for (const match of text.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/gu))
    args.push(match[1] ?? match[2] ?? match[3] ?? '');
  return args;
}

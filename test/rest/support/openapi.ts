/** Validates REST responses against the component schemas of Flink's OpenAPI file, corrected where Flink's real JSON differs. */

// Stricter than the file itself: every declared field is required and no undeclared field is
// allowed, unless Flink itself omits or adds it (see OPTIONAL, NULLABLE, EXTRA below). The
// corrections follow flink-semantics.md §2 and Flink's own serializers.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/** The subset of OpenAPI 3.0 schema keywords Flink's file uses, plus `nullable`. */
export interface Schema {
  readonly $ref?: string;
  readonly type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  readonly format?: string;
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly additionalProperties?: Schema;
  readonly items?: Schema;
  readonly enum?: readonly unknown[];
  readonly pattern?: string;
  readonly required?: readonly string[];
  readonly allOf?: readonly Schema[];
  readonly oneOf?: readonly Schema[];
  readonly nullable?: boolean;
  readonly discriminator?: {
    readonly propertyName: string;
    readonly mapping: Readonly<Record<string, string>>;
  };
}

interface OpenApi {
  readonly paths: Record<string, Record<string, { responses: Record<string, ResponseSpec> }>>;
  readonly components: { schemas: Record<string, Schema> };
}

interface ResponseSpec {
  readonly content?: Record<string, { schema: Schema }>;
}

/** Flink's spec, kept in the repository as a fixture (Apache-2.0, see NOTICE) so the tests stand alone. */
const SPEC_URL = new URL('../fixtures/flink-rest-api-v1.yml', import.meta.url);

const HEX32 = { type: 'string', pattern: '^[0-9a-f]{32}$' } as const satisfies Schema;
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const REST_DOUBLE: Schema = { oneOf: [{ type: 'number' }, { type: 'string', enum: ['NaN'] }] };

/**
 * Where Flink's real JSON differs from its OpenAPI file (flink-semantics.md §2, and Flink's own
 * serializers where §2 is silent), the schema is replaced by what Flink writes.
 */
const CORRECTIONS: Readonly<Record<string, Schema>> = {
  // ProcessingModeSerializer writes mode.name().toLowerCase().
  ProcessingMode: { type: 'string', enum: ['exactly_once', 'at_least_once'] },
  // SerializedThrowableSerializer also writes `class` and `stack-trace`.
  SerializedThrowable: {
    type: 'object',
    properties: {
      class: { type: 'string' },
      'stack-trace': { type: 'string' },
      'serialized-throwable': { type: 'string' },
    },
  },
  // Percentiles are doubles, NaN (written "NaN") without data.
  StatsSummaryDto: {
    type: 'object',
    properties: {
      min: { type: 'integer' },
      max: { type: 'integer' },
      avg: { type: 'integer' },
      p50: REST_DOUBLE,
      p90: REST_DOUBLE,
      p95: REST_DOUBLE,
      p99: REST_DOUBLE,
      p999: REST_DOUBLE,
    },
  },
  // SlotSharingGroupIDSerializer writes the id as a hex string, not the bean.
  SlotSharingGroupId: HEX32,
  // JobResultSerializer's field names, not the JobResult bean's.
  JobResult: {
    type: 'object',
    properties: {
      id: HEX32,
      name: { type: 'string' },
      'application-status': ref('ApplicationStatus'),
      'accumulator-results': { type: 'object', additionalProperties: { type: 'string' } },
      'net-runtime': { type: 'integer' },
      'failure-cause': ref('SerializedThrowable'),
      'start-time': { type: 'integer' },
      'end-time': { type: 'integer' },
    },
  },
  // JobConfigInfo's serializer writes jid/name/execution-config, not the bean's names (the
  // snapshot types it `any`; flink-semantics.md §2).
  JobConfigInfo: {
    type: 'object',
    properties: { jid: HEX32, name: { type: 'string' }, 'execution-config': ref('ExecutionConfigInfo') },
  },
  // MetricCollectionResponseBody's serializer writes the bare array.
  MetricCollectionResponseBody: { type: 'array', items: ref('Metric') },
  // AggregatedMetricsResponseBody's serializer writes a bare array of AggregatedMetric (the
  // snapshot types it a plain object).
  AggregatedMetricsResponseBody: { type: 'array', items: ref('AggregatedMetric') },
  AggregatedMetric: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      min: { type: 'number' },
      max: { type: 'number' },
      avg: { type: 'number' },
      sum: { type: 'number' },
      skew: { type: 'number' },
    },
  },
};

/** Fields that are null in Flink's JSON (nullable Java fields without JsonInclude). */
const NULLABLE: Readonly<Record<string, readonly string[]>> = {
  CheckpointStatistics: ['savepointFormat'],
  LatestCheckpoints: ['completed', 'savepoint', 'failed', 'restored'],
  AsynchronousOperationResult: ['operation'],
  JobExecutionResultResponseBody: ['job-execution-result'],
};

/** Declared fields Flink leaves out (NON_NULL / NON_DEFAULT, or written only when they apply). */
const OPTIONAL: Readonly<Record<string, readonly string[]>> = {
  JobDetailsInfo: ['stream-graph'],
  ExceptionInfo: ['taskName', 'endpoint', 'taskManagerId'],
  RootExceptionInfo: ['taskName', 'endpoint', 'taskManagerId'],
  PlanNode: ['inputs'],
  Input: ['local_strategy', 'caching'],
  CheckpointInfo: ['checkpointId', 'failureCause'],
  AsynchronousOperationInfo: ['failure-cause'],
  SavepointInfo: ['location', 'failure-cause'],
  JobResult: ['failure-cause'],
  // Absent when only the ids are listed (`value` is NON_NULL).
  Metric: ['value'],
  // Only with speculative execution (NON_EMPTY).
  SubtaskExecutionAttemptDetailsInfo: ['other-concurrent-attempts'],
  SubtaskBackPressureInfo: ['other-concurrent-attempts'],
  // Only the aggregations asked for (`agg`), NON_NULL.
  AggregatedMetric: ['min', 'max', 'avg', 'sum', 'skew'],
  // Only once samples exist (NON_NULL): the terminated, disabled and waiting answers have none.
  VertexFlameGraph: ['data'],
};

/** Undeclared fields Flink writes (absent from the OpenAPI file). */
const EXTRA: Readonly<Record<string, readonly string[]>> = {
  // The old name of `start-time`, still written for compatibility (in Flink's snapshot, not its OpenAPI).
  SubtaskExecutionAttemptDetailsInfo: ['start_time'],
};

let components: Record<string, Schema> | undefined;
let paths: OpenApi['paths'] | undefined;

function load(): { components: Record<string, Schema>; paths: OpenApi['paths'] } {
  if (!components || !paths) {
    const spec = parse(readFileSync(SPEC_URL, 'utf8')) as OpenApi;
    components = { ...spec.components.schemas, ...CORRECTIONS };
    paths = spec.paths;
  }
  return { components, paths };
}

/** The component schema named `name` (after corrections). */
export function componentSchema(name: string): Schema {
  const schema = load().components[name];
  if (!schema) throw new Error(`no component schema ${name} in Flink's OpenAPI file`);
  return schema;
}

/** The schema of the `status` response of `method path` in the spec (path as the spec writes it). */
export function responseSchema(path: string, method: string, status = '200'): Schema {
  const operation = load().paths[path]?.[method.toLowerCase()];
  const schema = operation?.responses[status]?.content?.['application/json']?.schema;
  if (!schema) throw new Error(`no ${status} JSON response for ${method} ${path} in Flink's OpenAPI file`);
  return schema;
}

/** Every mismatch between `value` and `schema`, as `path: problem` lines (empty when valid). */
export function validate(schema: Schema, value: unknown): string[] {
  const errors: string[] = [];
  check(schema, value, '$', errors);
  return errors;
}

function resolve(schema: Schema): { schema: Schema; name: string | undefined } {
  if (schema.$ref === undefined) return { schema, name: undefined };
  const name = schema.$ref.replace('#/components/schemas/', '');
  return { schema: componentSchema(name), name };
}

/** The properties an object schema declares, through allOf. */
function declared(schema: Schema): Map<string, Schema> {
  const out = new Map<string, Schema>(Object.entries(schema.properties ?? {}));
  for (const part of schema.allOf ?? []) for (const [k, v] of declared(resolve(part).schema)) out.set(k, v);
  return out;
}

/** Names of the component schemas `schema` is made of (itself and its allOf parts). */
function names(schema: Schema, name: string | undefined): string[] {
  const parts = (schema.allOf ?? []).flatMap((p) => {
    const r = resolve(p);
    return names(r.schema, r.name);
  });
  return name === undefined ? parts : [name, ...parts];
}

function check(raw: Schema, value: unknown, at: string, errors: string[]): void {
  const { schema, name } = resolve(raw);
  if (schema.discriminator) {
    const tag = (value as Record<string, unknown> | null)?.[schema.discriminator.propertyName];
    const target = typeof tag === 'string' ? schema.discriminator.mapping[tag] : undefined;
    if (target === undefined)
      errors.push(
        `${at}: ${schema.discriminator.propertyName} ${JSON.stringify(tag)} is not one of ` +
          Object.keys(schema.discriminator.mapping).join(', '),
      );
    // The mapped schema is allOf [this one, its own fields]: its fields are checked together.
    else checkFields(resolve({ $ref: target }).schema, target.split('/').pop(), value, at, errors);
    return;
  }
  if (schema.allOf) return checkFields(schema, name, value, at, errors);
  if (schema.oneOf) {
    // Flink's oneOf branches overlap (no required fields): at least one must match.
    const results = schema.oneOf.map((s) => validate(s, value));
    if (!results.some((r) => r.length === 0))
      errors.push(`${at}: matches none of oneOf (${results.map((r) => r.join('; ')).join(' | ')})`);
    return;
  }
  if (schema.enum && !schema.enum.includes(value)) {
    errors.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
    return;
  }
  switch (schema.type) {
    case 'object':
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        errors.push(`${at}: expected an object, got ${JSON.stringify(value)}`);
        return;
      }
      if (schema.additionalProperties)
        for (const [k, v] of Object.entries(value))
          check(schema.additionalProperties, v, `${at}.${k}`, errors);
      return checkFields(schema, name, value, at, errors);
    case 'array':
      if (!Array.isArray(value)) errors.push(`${at}: expected an array, got ${JSON.stringify(value)}`);
      else value.forEach((v, i) => check(schema.items ?? {}, v, `${at}[${i}]`, errors));
      return;
    case 'string':
      if (typeof value !== 'string') errors.push(`${at}: expected a string, got ${JSON.stringify(value)}`);
      else if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value))
        errors.push(`${at}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
      return;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value))
        errors.push(`${at}: expected an integer, got ${JSON.stringify(value)}`);
      else if (schema.format === 'int32' && Math.abs(value) > 2 ** 31)
        errors.push(`${at}: ${value} does not fit int32`);
      return;
    case 'number':
      if (typeof value !== 'number') errors.push(`${at}: expected a number, got ${JSON.stringify(value)}`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') errors.push(`${at}: expected a boolean, got ${JSON.stringify(value)}`);
      return;
    case undefined:
      return;
  }
}

/** Every declared field present (unless Flink omits it), typed, and nothing undeclared. */
function checkFields(
  schema: Schema,
  name: string | undefined,
  value: unknown,
  at: string,
  errors: string[],
): void {
  if (typeof value !== 'object' || value === null) {
    errors.push(`${at}: expected an object, got ${JSON.stringify(value)}`);
    return;
  }
  const fields = declared(schema);
  if (fields.size === 0) return;
  const schemaNames = names(schema, name);
  const optional = new Set(schemaNames.flatMap((n) => OPTIONAL[n] ?? []));
  const nullable = new Set(schemaNames.flatMap((n) => NULLABLE[n] ?? []));
  const extra = new Set(schemaNames.flatMap((n) => EXTRA[n] ?? []));
  const record = value as Record<string, unknown>;
  for (const [key, fieldSchema] of fields) {
    if (!(key in record)) {
      if (!optional.has(key)) errors.push(`${at}: missing ${key}`);
      continue;
    }
    const v = record[key];
    if (v === null) {
      if (!nullable.has(key)) errors.push(`${at}.${key}: is null`);
      continue;
    }
    check(fieldSchema, v, `${at}.${key}`, errors);
  }
  for (const key of Object.keys(record))
    if (!fields.has(key) && !extra.has(key) && schema.additionalProperties === undefined)
      errors.push(`${at}: undeclared field ${key}`);
}

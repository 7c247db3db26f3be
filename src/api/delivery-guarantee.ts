/**
 * What a connector promises about records reaching the outside world after failures (Flink's
 * `DeliveryGuarantee`): `DeliveryGuarantee.EXACTLY_ONCE` as in Flink, or the string itself.
 */
export const DeliveryGuarantee = {
  /** Every record is visible exactly once: two-phase commit tied to checkpoints. */
  EXACTLY_ONCE: 'exactly-once',
  /** No record is lost; replays after a failure may write some twice (flush at every barrier). */
  AT_LEAST_ONCE: 'at-least-once',
  /** Best effort: records may be lost or duplicated. */
  NONE: 'none',
} as const;
/** One of the DeliveryGuarantee values. */
export type DeliveryGuarantee = (typeof DeliveryGuarantee)[keyof typeof DeliveryGuarantee];

const BY_NAME: Record<string, DeliveryGuarantee> = {
  EXACTLY_ONCE: 'exactly-once',
  AT_LEAST_ONCE: 'at-least-once',
  NONE: 'none',
};

/**
 * The guarantee `value` names (`'exactly-once'`, or Flink's enum name `'EXACTLY_ONCE'`), or
 * undefined when it names none; connectors turn undefined into an error naming their option.
 */
export function parseDeliveryGuarantee(value: unknown): DeliveryGuarantee | undefined {
  if (typeof value !== 'string') return undefined;
  if (value === 'exactly-once' || value === 'at-least-once' || value === 'none') return value;
  return BY_NAME[value.toUpperCase().replace(/-/g, '_')];
}

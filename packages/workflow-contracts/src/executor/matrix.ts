import { isDeepStrictEqual } from 'node:util';

/** One combination of a matrix: the `matrix` context of one job. */
export type MatrixLeg = Readonly<Record<string, unknown>>;

function record(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error(`${where} must be a mapping, got ${JSON.stringify(value)}`);
  return value as Record<string, unknown>;
}

function entries(value: unknown, where: string): Record<string, unknown>[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new Error(`${where} must be a sequence, got ${JSON.stringify(value)}`);
  return value.map((v, i) => record(v, `${where}[${i}]`));
}

/**
 * Expands an evaluated `strategy.matrix` as GitHub does: the product of its vectors in key order,
 * minus each combination an `exclude` entry matches, then each `include` entry added to every
 * combination whose original values it does not change (values it added itself may be replaced by
 * a later entry), or appended as a combination of its own when it fits none. A matrix that gives
 * no combination is an error, as it is for GitHub.
 */
export function expandMatrix(matrix: unknown): MatrixLeg[] {
  const m = record(matrix, 'strategy.matrix');
  const vectors = Object.entries(m).filter(([key]) => key !== 'include' && key !== 'exclude');
  let legs: Record<string, unknown>[] = vectors.length === 0 ? [] : [{}];
  for (const [key, values] of vectors) {
    if (!Array.isArray(values) || values.length === 0)
      throw new Error(`Matrix vector '${key}' does not contain any values`);
    legs = legs.flatMap((leg) => values.map((v: unknown) => ({ ...leg, [key]: v })));
  }
  for (const exclude of entries(m.exclude, 'strategy.matrix.exclude'))
    legs = legs.filter((leg) => !Object.entries(exclude).every(([k, v]) => isDeepStrictEqual(leg[k], v)));
  const original = new Set(vectors.map(([key]) => key));
  const base = legs.map((leg) => ({ ...leg }));
  const added: Record<string, unknown>[] = [];
  for (const include of entries(m.include, 'strategy.matrix.include')) {
    const fitting = base.filter(
      (_leg, i) =>
        vectors.length > 0 &&
        Object.entries(include).every(([k, v]) => !original.has(k) || isDeepStrictEqual(legs[i]?.[k], v)),
    );
    for (const leg of fitting) Object.assign(leg, include);
    if (fitting.length === 0) added.push({ ...include });
  }
  const all = [...base, ...added];
  if (all.length === 0) throw new Error('Matrix must define at least one vector');
  return all;
}

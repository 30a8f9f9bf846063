import { isJsonObject, textOf, type JsonValue } from './json-value.js';

/**
 * The JSONPath subset CRD printer columns use: `.spec.replicas`, `.items[0].name`,
 * `.status.conditions[?(@.type=="Ready")].status`. Returns the first value found, or undefined.
 */
export function evaluateJsonPath(root: JsonValue, path: string): JsonValue | undefined {
  const steps = tokenize(
    path
      .trim()
      .replace(/^\{|\}$/g, '')
      .replace(/^\$/, ''),
  );
  if (steps === undefined) return undefined;
  let current: JsonValue[] = [root];
  for (const step of steps) {
    const next: JsonValue[] = [];
    for (const value of current) {
      if (step.kind === 'field' && isJsonObject(value) && value[step.name] !== undefined)
        next.push(value[step.name] as JsonValue);
      else if (step.kind === 'index' && Array.isArray(value)) {
        const item = value[step.index < 0 ? value.length + step.index : step.index];
        if (item !== undefined) next.push(item);
      } else if (step.kind === 'all' && Array.isArray(value)) next.push(...value);
      else if (step.kind === 'filter' && Array.isArray(value))
        for (const item of value)
          if (isJsonObject(item) && textOf(item[step.field] ?? '') === step.value) next.push(item);
    }
    current = next;
  }
  return current[0];
}

type Step =
  | { readonly kind: 'field'; readonly name: string }
  | { readonly kind: 'index'; readonly index: number }
  | { readonly kind: 'all' }
  | { readonly kind: 'filter'; readonly field: string; readonly value: string };

const FILTER = /^\?\(@\.([A-Za-z0-9_-]+)\s*==\s*["']([^"']*)["']\)$/;

function tokenize(path: string): Step[] | undefined {
  const steps: Step[] = [];
  let i = 0;
  while (i < path.length) {
    const ch = path[i];
    if (ch === '.') {
      const match = /^[A-Za-z0-9_-]+/.exec(path.slice(i + 1));
      if (match === null) return undefined;
      steps.push({ kind: 'field', name: match[0] });
      i += 1 + match[0].length;
    } else if (ch === '[') {
      const end = path.indexOf(']', i);
      if (end < 0) return undefined;
      const inner = path.slice(i + 1, end).trim();
      const filter = FILTER.exec(inner);
      if (inner === '*') steps.push({ kind: 'all' });
      else if (/^-?\d+$/.test(inner)) steps.push({ kind: 'index', index: Number(inner) });
      else if (filter !== null)
        steps.push({ kind: 'filter', field: filter[1] ?? '', value: filter[2] ?? '' });
      else if (/^['"].*['"]$/.test(inner)) steps.push({ kind: 'field', name: inner.slice(1, -1) });
      else return undefined;
      i = end + 1;
    } else return undefined;
  }
  return steps;
}

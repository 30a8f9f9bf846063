import { badRequest } from './api-status.js';
import { isJsonObject, textOf, type JsonObject } from './json-value.js';

/** The operators of a label requirement. */
export type LabelOperator = 'in' | 'notin' | 'exists' | '!' | 'gt' | 'lt';

/** One requirement of a label selector (`app=web` is `{key: 'app', operator: 'in', values: ['web']}`). */
export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  readonly values: readonly string[];
}

/** A parsed selector: every requirement must hold. An empty list selects everything. */
export type LabelSelector = readonly LabelRequirement[];

/**
 * Parses the `labelSelector` query syntax: `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`,
 * `k`, `!k`, `k>1`, `k<1`, joined by commas. Throws a 400 ApiError on bad syntax, as the server does.
 */
export function parseLabelSelector(text: string): LabelSelector {
  const parts = splitTopLevel(text.trim());
  return parts.filter((p) => p.trim() !== '').map((p) => parseRequirement(p.trim()));
}

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts;
}

const KEY = String.raw`[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?`;
const VALUE = String.raw`([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?`;

function parseRequirement(text: string): LabelRequirement {
  const fail = (): never => {
    throw badRequest(`unable to parse requirement: found '${text}', expected: valid label selector`);
  };
  let m = new RegExp(String.raw`^!\s*(${KEY})$`).exec(text);
  if (m !== null) return { key: m[1] ?? '', operator: '!', values: [] };
  m = new RegExp(String.raw`^(${KEY})\s+(in|notin)\s*\((.*)\)$`).exec(text);
  if (m !== null) {
    const values = (m[4] ?? '')
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
    if (!values.every((v) => new RegExp(`^${VALUE}$`).test(v))) fail();
    return { key: m[1] ?? '', operator: m[3] === 'in' ? 'in' : 'notin', values };
  }
  m = new RegExp(String.raw`^(${KEY})\s*(==|=|!=|>|<)\s*(${VALUE})$`).exec(text);
  if (m !== null) {
    const key = m[1] ?? '';
    const value = m[4] ?? '';
    switch (m[3]) {
      case '!=':
        return { key, operator: 'notin', values: [value] };
      case '>':
      case '<':
        if (!/^-?\d+$/.test(value)) fail();
        return { key, operator: m[3] === '>' ? 'gt' : 'lt', values: [value] };
      default:
        return { key, operator: 'in', values: [value] };
    }
  }
  m = new RegExp(String.raw`^(${KEY})$`).exec(text);
  if (m !== null) return { key: m[1] ?? '', operator: 'exists', values: [] };
  return fail();
}

/** Whether `labels` satisfy every requirement of `selector`. */
export function matchesLabels(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  return selector.every((r) => {
    const has = Object.hasOwn(labels, r.key);
    const value = labels[r.key];
    switch (r.operator) {
      case 'in':
        return has && value !== undefined && r.values.includes(value);
      case 'notin':
        return !has || value === undefined || !r.values.includes(value);
      case 'exists':
        return has;
      case '!':
        return !has;
      case 'gt':
      case 'lt': {
        if (!has || value === undefined || !/^-?\d+$/.test(value)) return false;
        const bound = Number(r.values[0]);
        return r.operator === 'gt' ? Number(value) > bound : Number(value) < bound;
      }
    }
  });
}

/**
 * A metav1.LabelSelector object (`matchLabels` and `matchExpressions`) as requirements. Returns
 * undefined for a missing selector (which selects nothing where the real controllers use it).
 */
export function fromLabelSelectorObject(selector: JsonObject | undefined): LabelSelector | undefined {
  if (selector === undefined) return undefined;
  const requirements: LabelRequirement[] = [];
  const matchLabels = selector.matchLabels;
  if (isJsonObject(matchLabels))
    for (const [key, value] of Object.entries(matchLabels))
      requirements.push({ key, operator: 'in', values: [textOf(value)] });
  const expressions = selector.matchExpressions;
  if (Array.isArray(expressions))
    for (const e of expressions) {
      if (!isJsonObject(e) || typeof e.key !== 'string') continue;
      const values = Array.isArray(e.values) ? e.values.map(String) : [];
      const op = e.operator;
      const operator: LabelOperator =
        op === 'In' ? 'in' : op === 'NotIn' ? 'notin' : op === 'Exists' ? 'exists' : '!';
      requirements.push({ key: e.key, operator, values });
    }
  return requirements;
}

/** A plain `map[string]string` selector (Services) as requirements. */
export function fromLabelMap(map: Readonly<Record<string, string>>): LabelSelector {
  return Object.entries(map).map(([key, value]) => ({ key, operator: 'in', values: [value] }));
}

/** The query-string form, as the real server writes it in `Scale.status.selector`. */
export function formatLabelSelector(selector: LabelSelector): string {
  return [...selector]
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((r) => {
      switch (r.operator) {
        case 'in':
          return r.values.length === 1
            ? `${r.key}=${r.values[0] ?? ''}`
            : `${r.key} in (${r.values.join(',')})`;
        case 'notin':
          return r.values.length === 1
            ? `${r.key}!=${r.values[0] ?? ''}`
            : `${r.key} notin (${r.values.join(',')})`;
        case 'exists':
          return r.key;
        case '!':
          return `!${r.key}`;
        case 'gt':
          return `${r.key}>${r.values[0] ?? ''}`;
        case 'lt':
          return `${r.key}<${r.values[0] ?? ''}`;
      }
    })
    .join(',');
}

import { badRequest } from './api-status.js';
import { isJsonObject, type JsonObject } from './json-value.js';

/** One term of a field selector: `metadata.name=web` or `involvedObject.kind!=Pod`. */
export interface FieldRequirement {
  readonly field: string;
  readonly equal: boolean;
  readonly value: string;
}

/** Fields every kind can be selected on. */
const COMMON_FIELDS = ['metadata.name', 'metadata.namespace'];

/** Extra fields per kind, as the real server registers them. */
const KIND_FIELDS: Readonly<Record<string, readonly string[]>> = {
  Event: [
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
  ],
  Pod: [
    'spec.nodeName',
    'spec.restartPolicy',
    'spec.schedulerName',
    'spec.serviceAccountName',
    'status.phase',
    'status.podIP',
    'status.nominatedNodeName',
  ],
  Secret: ['type'],
  Namespace: ['status.phase'],
  ReplicaSet: ['status.replicas'],
};

/** Parses `a=b,c==d,e!=f`. Throws a 400 ApiError for a field `kind` cannot be selected on. */
export function parseFieldSelector(text: string, kind: string): FieldRequirement[] {
  const allowed = new Set([...COMMON_FIELDS, ...(KIND_FIELDS[kind] ?? [])]);
  return text
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '')
    .map((term) => {
      const m = /^([^!=]+)(==|=|!=)(.*)$/.exec(term);
      if (m === null) throw badRequest(`invalid selector: '${text}'; can't understand '${term}'`);
      const field = (m[1] ?? '').trim();
      if (!allowed.has(field)) throw badRequest(`field label not supported: ${field}`);
      return { field, equal: m[2] !== '!=', value: (m[3] ?? '').trim() };
    });
}

/** The value of a dotted field path in an object, as the server's field sets present it. */
function fieldValue(obj: JsonObject, field: string): string {
  if (field === 'source') {
    const source = obj.source;
    return isJsonObject(source) && typeof source.component === 'string' ? source.component : '';
  }
  let current: unknown = obj;
  for (const part of field.split('.')) {
    if (!isJsonObject(current)) return '';
    current = current[part];
  }
  if (current === undefined || current === null) return '';
  return typeof current === 'string' ? current : JSON.stringify(current);
}

/** Whether `obj` satisfies every requirement. */
export function matchesFields(requirements: readonly FieldRequirement[], obj: JsonObject): boolean {
  return requirements.every((r) => (fieldValue(obj, r.field) === r.value) === r.equal);
}

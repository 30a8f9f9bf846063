import type { StatusCause } from './api-status.js';
import {
  ensureObject,
  isJsonObject,
  objectAt,
  objectsAt,
  stringAt,
  type JsonObject,
  type JsonValue,
} from './json-value.js';

/** The defaults the real server gives a CustomResourceDefinition. Mutates `crd`. */
export function defaultCustomResourceDefinition(crd: JsonObject): void {
  const spec = ensureObject(crd, 'spec');
  const names = ensureObject(spec, 'names');
  const kind = stringAt(names, 'kind') ?? '';
  names.singular ??= kind.toLowerCase();
  names.listKind ??= `${kind}List`;
  spec.conversion ??= { strategy: 'None' };
}

function invalidValue(field: string, value: JsonValue | undefined, detail: string): StatusCause {
  return {
    reason: 'FieldValueInvalid',
    message: `Invalid value: ${JSON.stringify(value ?? null)}: ${detail}`,
    field,
  };
}

/**
 * The 422 causes for a CustomResourceDefinition the real server refuses: its name, group, names,
 * scope, exactly one storage version, and a structural schema for every version.
 */
export function validateCustomResourceDefinition(
  crd: JsonObject,
  old: JsonObject | undefined,
): StatusCause[] {
  const causes: StatusCause[] = [];
  const spec = objectAt(crd, 'spec');
  const names = objectAt(spec, 'names');
  const group = stringAt(spec, 'group') ?? '';
  const plural = stringAt(names, 'plural') ?? '';
  const name = stringAt(objectAt(crd, 'metadata'), 'name') ?? '';
  if (group === '')
    causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.group' });
  else if (!group.includes('.'))
    causes.push(invalidValue('spec.group', group, 'should be a domain with at least one dot'));
  if (plural === '')
    causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.names.plural' });
  if ((stringAt(names, 'kind') ?? '') === '')
    causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.names.kind' });
  if (name !== `${plural}.${group}`)
    causes.push(invalidValue('metadata.name', name, 'must be spec.names.plural+"."+spec.group'));
  const scope = stringAt(spec, 'scope');
  if (scope === undefined || scope === '')
    causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.scope' });
  else if (scope !== 'Namespaced' && scope !== 'Cluster')
    causes.push({
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${JSON.stringify(scope)}: supported values: "Cluster", "Namespaced"`,
      field: 'spec.scope',
    });
  const oldScope = stringAt(objectAt(old, 'spec'), 'scope');
  if (old !== undefined && oldScope !== scope)
    causes.push(invalidValue('spec.scope', scope, 'field is immutable'));
  const versions = objectsAt(spec, 'versions');
  if (versions.length === 0)
    causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.versions' });
  else if (versions.filter((v) => v.storage === true).length !== 1)
    causes.push(
      invalidValue(
        'spec.versions',
        versions.map((v) => stringAt(v, 'name') ?? ''),
        'must have exactly one version marked as storage version',
      ),
    );
  versions.forEach((version, i) => {
    const field = `spec.versions[${i}]`;
    if ((stringAt(version, 'name') ?? '') === '')
      causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: `${field}.name` });
    const schema = objectAt(objectAt(version, 'schema'), 'openAPIV3Schema');
    if (schema === undefined) {
      causes.push({
        reason: 'FieldValueRequired',
        message: 'Required value: schemas are required',
        field: `${field}.schema.openAPIV3Schema`,
      });
      return;
    }
    const rootType = stringAt(schema, 'type');
    if (rootType === undefined && schema['x-kubernetes-preserve-unknown-fields'] !== true)
      causes.push({
        reason: 'FieldValueRequired',
        message: 'Required value: must not be empty at the root',
        field: `${field}.schema.openAPIV3Schema.type`,
      });
    else if (rootType !== undefined && rootType !== 'object')
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${JSON.stringify(rootType)}: must be object at the root`,
        field: `${field}.schema.openAPIV3Schema.type`,
      });
    structuralCauses(schema, `${field}.schema.openAPIV3Schema`, causes);
  });
  return causes;
}

/** Every specified field of a structural schema has a type (unless it preserves unknown fields). */
function structuralCauses(node: JsonObject, field: string, causes: StatusCause[]): void {
  if (stringAt(node, 'type') === 'array' && objectAt(node, 'items') === undefined)
    causes.push({
      reason: 'FieldValueRequired',
      message: 'Required value: must be specified',
      field: `${field}.items`,
    });
  const properties = objectAt(node, 'properties');
  for (const [key, child] of Object.entries(properties ?? {})) {
    if (!isJsonObject(child)) continue;
    const childField = `${field}.properties[${key}]`;
    const free =
      child['x-kubernetes-preserve-unknown-fields'] === true || child['x-kubernetes-int-or-string'] === true;
    if (stringAt(child, 'type') === undefined && !free)
      causes.push({
        reason: 'FieldValueRequired',
        message: 'Required value: must not be empty for specified object fields',
        field: `${childField}.type`,
      });
    structuralCauses(child, childField, causes);
  }
  const items = objectAt(node, 'items');
  if (items !== undefined) {
    if (
      stringAt(items, 'type') === undefined &&
      items['x-kubernetes-preserve-unknown-fields'] !== true &&
      items['x-kubernetes-int-or-string'] !== true
    )
      causes.push({
        reason: 'FieldValueRequired',
        message: 'Required value: must not be empty for specified array items',
        field: `${field}.items.type`,
      });
    structuralCauses(items, `${field}.items`, causes);
  }
  const additional = objectAt(node, 'additionalProperties');
  if (additional !== undefined) structuralCauses(additional, `${field}.additionalProperties`, causes);
}

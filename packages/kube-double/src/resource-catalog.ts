import {
  arrayAt,
  isJsonObject,
  numberAt,
  objectAt,
  objectsAt,
  stringAt,
  type JsonObject,
} from './json-value.js';
import {
  RESOURCE_TYPES,
  apiVersionOf,
  resource,
  storageKey,
  type PrinterColumn,
  type ResourceType,
} from './resource-table.js';

/**
 * The resource types one double serves: the built-in table, plus the custom resources of every
 * CustomResourceDefinition that is established. Discovery, OpenAPI, routing and namespace cleanup
 * read it, so a CRD applied through the API is served at once, without a restart.
 */
export class ResourceCatalog {
  /** CRD name → the types of its served versions. */
  private readonly customs = new Map<string, readonly ResourceType[]>();
  private cached: readonly ResourceType[] | undefined;

  /** Every type served: built-in first, in table order, then custom ones by CRD name. */
  all(): readonly ResourceType[] {
    this.cached ??= [
      ...RESOURCE_TYPES,
      ...[...this.customs.keys()].sort().flatMap((name) => this.customs.get(name) ?? []),
    ];
    return this.cached;
  }

  /** The type served at `group/version/plural`, if any. */
  find(group: string, version: string, plural: string): ResourceType | undefined {
    return this.all().find((t) => t.group === group && t.version === version && t.plural === plural);
  }

  /** The type of a kind (in a given apiVersion, or the first served). */
  ofKind(kind: string, apiVersion?: string): ResourceType | undefined {
    return this.all().find(
      (t) => t.kind === kind && (apiVersion === undefined || apiVersionOf(t) === apiVersion),
    );
  }

  /** The first type with this plural (`pods`, `servicemonitors`). */
  byPlural(plural: string): ResourceType | undefined {
    return this.all().find((t) => t.plural === plural);
  }

  /** The group/versions served, core first, as `{group, version}` pairs. */
  groupVersions(): { readonly group: string; readonly version: string }[] {
    const seen = new Set<string>();
    const result: { group: string; version: string }[] = [];
    for (const t of this.all()) {
      const key = `${t.group}/${t.version}`;
      if (seen.has(key)) continue;
      seen.add(key);
      result.push({ group: t.group, version: t.version });
    }
    return result;
  }

  /** The version a type's objects are stored in (itself for every built-in type). */
  storageOf(type: ResourceType): ResourceType {
    if (type.custom === undefined || type.custom.storageVersion === type.version) return type;
    return this.find(type.group, type.custom.storageVersion, type.plural) ?? type;
  }

  /** Every served type that shares storage with `type` (its other versions, and itself). */
  versionsOf(type: ResourceType): readonly ResourceType[] {
    const key = storageKey(type);
    return this.all().filter((t) => storageKey(t) === key);
  }

  /** The types a CRD serves now, or none. */
  customTypesOf(crdName: string): readonly ResourceType[] {
    return this.customs.get(crdName) ?? [];
  }

  /** Serves (or stops serving, with an empty list) the versions of a CRD. */
  setCustom(crdName: string, types: readonly ResourceType[]): void {
    if (types.length === 0) this.customs.delete(crdName);
    else this.customs.set(crdName, types);
    this.cached = undefined;
  }
}

/**
 * The resource types a CustomResourceDefinition serves: one per version with `served: true`, sharing
 * the objects of the storage version. A valid CRD is assumed (the API validated it).
 */
export function customResourceTypes(crd: JsonObject): ResourceType[] {
  const crdName = stringAt(objectAt(crd, 'metadata'), 'name') ?? '';
  const spec = objectAt(crd, 'spec');
  const names = objectAt(spec, 'names');
  const group = stringAt(spec, 'group') ?? '';
  const kind = stringAt(names, 'kind') ?? '';
  const versions = objectsAt(spec, 'versions');
  const storage = versions.find((v) => v.storage === true) ?? versions[0];
  const storageVersion = stringAt(storage, 'name') ?? '';
  const stringsAt = (key: string): string[] =>
    arrayAt(names, key).filter((v): v is string => typeof v === 'string');
  return versions
    .filter((v) => v.served === true)
    .map((v) => {
      const subresources = objectAt(v, 'subresources');
      return {
        ...resource({
          group,
          version: stringAt(v, 'name') ?? '',
          kind,
          plural: stringAt(names, 'plural') ?? '',
          singular: stringAt(names, 'singular') ?? kind.toLowerCase(),
          namespaced: stringAt(spec, 'scope') !== 'Cluster',
          shortNames: stringsAt('shortNames'),
          categories: stringsAt('categories'),
          subresources: subresources !== undefined && isJsonObject(subresources.status) ? ['status'] : [],
          // The real server bumps a custom resource's generation on any change but status and metadata.
          tracksGeneration: true,
        }),
        listKind: stringAt(names, 'listKind') ?? `${kind}List`,
        custom: {
          crd: crdName,
          storageVersion,
          schema: objectAt(objectAt(v, 'schema'), 'openAPIV3Schema') ?? {},
          printerColumns: objectsAt(v, 'additionalPrinterColumns').map((c): PrinterColumn => ({
            name: stringAt(c, 'name') ?? '',
            type: stringAt(c, 'type') ?? 'string',
            jsonPath: stringAt(c, 'jsonPath') ?? '',
            priority: numberAt(c, 'priority') ?? 0,
            description: stringAt(c, 'description') ?? '',
          })),
        },
      };
    });
}

import { globToRegExp } from './image-behaviours.js';
import { isJsonObject, objectAt, stringAt, type JsonObject } from './json-value.js';

/**
 * One authorization rule: the filters (all optional) pick the requests it decides; the first rule that
 * matches decides; with no match the request is allowed. The double enforces nothing itself: the
 * rules answer SelfSubjectAccessReviews (`kubectl auth can-i`).
 */
export interface AccessRule {
  readonly verbs?: readonly string[];
  /** `deployments`, or `deployments/scale` for a subresource. */
  readonly resources?: readonly string[];
  /** API groups (`''` for core, `apps`). */
  readonly groups?: readonly string[];
  readonly namespaces?: readonly string[];
  /** Object names (globs). */
  readonly names?: readonly string[];
  readonly allowed: boolean;
  /** Why, when denied. */
  readonly reason?: string;
}

/** The attributes a review asks about. */
export interface AccessAttributes {
  readonly verb: string;
  readonly group: string;
  readonly resource: string;
  readonly subresource: string;
  readonly namespace: string;
  readonly name: string;
}

function strings(value: unknown, where: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))
    throw new Error(`access: ${where}: expected a list of strings`);
  return value;
}

/** Validates rules from JSON (`POST /_double/access`, or `setAccess`). */
export function parseAccessRules(document: unknown): AccessRule[] {
  if (!Array.isArray(document)) throw new Error('access: expected a list of rules');
  return document.map((raw: unknown, i) => {
    if (!isJsonObject(raw) || typeof raw.allowed !== 'boolean')
      throw new Error(`access: rule ${i}: expected {allowed: true|false, ...filters}`);
    const pick = (
      key: 'verbs' | 'resources' | 'groups' | 'namespaces' | 'names',
    ): { [k: string]: string[] } => {
      const list = strings(raw[key], `rule ${i}.${key}`);
      return list === undefined ? {} : { [key]: list };
    };
    return {
      ...pick('verbs'),
      ...pick('resources'),
      ...pick('groups'),
      ...pick('namespaces'),
      ...pick('names'),
      allowed: raw.allowed,
      ...(typeof raw.reason === 'string' ? { reason: raw.reason } : {}),
    };
  });
}

/** Answers access reviews from rules. */
export class AccessRules {
  private rules: readonly AccessRule[] = [];

  /** Replaces the rules. */
  set(rules: readonly AccessRule[]): void {
    this.rules = parseAccessRules(rules);
  }

  /** The rules in force. */
  list(): readonly AccessRule[] {
    return this.rules;
  }

  /** Whether the attributes are allowed, and why not. */
  decide(a: AccessAttributes): { allowed: boolean; reason?: string } {
    const resource = a.subresource === '' ? a.resource : `${a.resource}/${a.subresource}`;
    for (const rule of this.rules) {
      if (rule.verbs !== undefined && !rule.verbs.includes(a.verb) && !rule.verbs.includes('*')) continue;
      if (rule.resources !== undefined && !rule.resources.includes(resource) && !rule.resources.includes('*'))
        continue;
      if (rule.groups !== undefined && !rule.groups.includes(a.group)) continue;
      if (rule.namespaces !== undefined && !rule.namespaces.includes(a.namespace)) continue;
      if (rule.names !== undefined && !rule.names.some((n) => globToRegExp(n).test(a.name))) continue;
      return { allowed: rule.allowed, ...(rule.reason === undefined ? {} : { reason: rule.reason }) };
    }
    return { allowed: true };
  }

  /** The answer to a SelfSubjectAccessReview body. */
  review(body: JsonObject): JsonObject {
    const spec = objectAt(body, 'spec') ?? {};
    const attributes = objectAt(spec, 'resourceAttributes');
    const text = (key: string): string => stringAt(attributes, key) ?? '';
    const decision =
      attributes === undefined
        ? { allowed: true }
        : this.decide({
            verb: text('verb'),
            group: text('group'),
            resource: text('resource'),
            subresource: text('subresource'),
            namespace: text('namespace'),
            name: text('name'),
          });
    const status: JsonObject = { allowed: decision.allowed };
    if (!decision.allowed) {
      status.denied = true;
      status.reason = decision.reason ?? 'denied by the kube-double access rules';
    }
    return {
      kind: 'SelfSubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec,
      status,
    };
  }
}

import { ApiError, type StatusCause } from './api-status.js';

/** The options of a LIST or WATCH that decide where it starts and what it sends first. */
export interface ListOptions {
  readonly watch: boolean;
  /** Undefined when not sent. */
  readonly resourceVersion: string | undefined;
  /** `NotOlderThan` or `Exact`; undefined when not sent. */
  readonly resourceVersionMatch: string | undefined;
  /**
   * A watch-list (kubectl 1.35's `rollout status` and `wait`): true starts the stream with the
   * current state as ADDED events and ends that part with a BOOKMARK annotated
   * `k8s.io/initial-events-end`. Undefined when not sent.
   */
  readonly sendInitialEvents: boolean | undefined;
  readonly allowWatchBookmarks: boolean;
}

/** The annotation of the BOOKMARK that ends a watch-list's initial events. */
export const INITIAL_EVENTS_END_ANNOTATION = 'k8s.io/initial-events-end';

const NOT_OLDER_THAN = 'NotOlderThan';
const EXACT = 'Exact';

/** A boolean query parameter as the API server converts it: `0` and `false` (any case) are false, anything else true. */
function queryBoolean(value: string | null): boolean | undefined {
  if (value === null) return undefined;
  return !(value === '0' || value.toLowerCase() === 'false');
}

/**
 * The list options of a request, checked as the real API server checks them with its WatchList
 * feature on (the default on 1.32 and from 1.34): `sendInitialEvents` only on a watch and only with
 * `resourceVersionMatch=NotOlderThan`; `resourceVersionMatch` on a watch only with
 * `sendInitialEvents`, and on a list only with a `resourceVersion`. A refusal is a 422 Invalid
 * naming `ListOptions.meta.k8s.io`, as the real server answers it.
 */
export function parseListOptions(query: URLSearchParams, watch: boolean): ListOptions {
  const options: ListOptions = {
    watch,
    resourceVersion: query.get('resourceVersion') ?? undefined,
    resourceVersionMatch: query.get('resourceVersionMatch') ?? undefined,
    sendInitialEvents: queryBoolean(query.get('sendInitialEvents')),
    allowWatchBookmarks: queryBoolean(query.get('allowWatchBookmarks')) === true,
  };
  const causes = watch ? watchProblems(options, query) : listProblems(options, query);
  if (causes.length > 0) throw invalidListOptions(causes);
  return options;
}

function forbidden(field: string, detail: string): StatusCause {
  return { reason: 'FieldValueForbidden', field, message: `Forbidden: ${detail}` };
}

function notSupported(field: string, value: string, supported: readonly string[]): StatusCause {
  return {
    reason: 'FieldValueNotSupported',
    field,
    message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`,
  };
}

function watchProblems(options: ListOptions, query: URLSearchParams): StatusCause[] {
  const causes: StatusCause[] = [];
  const match = options.resourceVersionMatch ?? '';
  if (options.sendInitialEvents !== undefined && match !== NOT_OLDER_THAN)
    causes.push(
      forbidden(
        'resourceVersionMatch',
        `sendInitialEvents requires setting resourceVersionMatch to ${NOT_OLDER_THAN}`,
      ),
    );
  if (match !== '') {
    if (options.sendInitialEvents === undefined)
      causes.push(
        forbidden(
          'resourceVersionMatch',
          'resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided',
        ),
      );
    if (match !== NOT_OLDER_THAN) causes.push(notSupported('resourceVersionMatch', match, [NOT_OLDER_THAN]));
    if ((query.get('continue') ?? '') !== '')
      causes.push(
        forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden when continue is provided'),
      );
  }
  return causes;
}

function listProblems(options: ListOptions, query: URLSearchParams): StatusCause[] {
  const causes: StatusCause[] = [];
  const match = options.resourceVersionMatch ?? '';
  if (match !== '') {
    if ((options.resourceVersion ?? '') === '')
      causes.push(
        forbidden(
          'resourceVersionMatch',
          'resourceVersionMatch is forbidden unless resourceVersion is provided',
        ),
      );
    if ((query.get('continue') ?? '') !== '')
      causes.push(
        forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden when continue is provided'),
      );
    if (match !== EXACT && match !== NOT_OLDER_THAN)
      causes.push(notSupported('resourceVersionMatch', match, [EXACT, NOT_OLDER_THAN, '']));
    if (match === EXACT && options.resourceVersion === '0')
      causes.push(
        forbidden(
          'resourceVersionMatch',
          'resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
        ),
      );
  }
  if (options.sendInitialEvents !== undefined)
    causes.push(forbidden('sendInitialEvents', 'sendInitialEvents is forbidden for list'));
  return causes;
}

/** 422 for list options the server refuses: `ListOptions.meta.k8s.io "" is invalid: <field>: <message>`. */
function invalidListOptions(causes: readonly StatusCause[]): ApiError {
  const list = causes.map((c) => `${c.field ?? ''}: ${c.message}`);
  const summary = list.length === 1 ? (list[0] ?? '') : `[${list.join(', ')}]`;
  return new ApiError({
    code: 422,
    reason: 'Invalid',
    message: `ListOptions.meta.k8s.io "" is invalid: ${summary}`,
    details: { group: 'meta.k8s.io', kind: 'ListOptions', causes },
  });
}

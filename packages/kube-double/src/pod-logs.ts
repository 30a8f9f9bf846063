import type { Clock } from '@dreamscape/core';
import { ApiError, badRequest } from './api-status.js';
import { objectAt, objectsAt, stringAt, type JsonObject } from './json-value.js';

/** One line a container printed: when (real milliseconds, the clock objects are stamped with) and what. */
export interface LogLine {
  readonly at: number;
  readonly text: string;
}

/** What one container (one run of it: a restart is a new container) prints. */
interface ContainerOutput {
  readonly podUid: string;
  readonly lines: LogLine[];
  /** The image declares no logs: the double's remarks (ready, exited) are the log. */
  readonly narrated: boolean;
  /** Once it has ended, every line has been printed, whatever the clock says. */
  ended: boolean;
}

/** The container ID of a pod's `index`th container in its `run`th run (0 first, one more per restart). */
export function containerIdOf(podUid: string, index: number, run: number): string {
  return `containerd://${podUid.replace(/-/g, '')}${String(index).padStart(2, '0')}${String(run).padStart(4, '0')}`;
}

/**
 * The container runtime's log files: what each container printed, by container ID, until its pod is
 * deleted. The kubelet's part of the double writes them; the pods/log subresource reads them.
 */
export class PodLogs {
  private readonly outputs = new Map<string, ContainerOutput>();
  private readonly byPod = new Map<string, string[]>();

  constructor(
    /** The clock lines are stamped with, and read by. */
    readonly clock: Clock,
  ) {}

  /**
   * A container starts. `lines` are printed at their times (those still ahead of the clock appear
   * when it reaches them, or when the container ends); `narrated` says they are the double's own
   * remarks, to which {@link remark} adds.
   */
  start(podUid: string, containerId: string, lines: readonly LogLine[], narrated: boolean): void {
    this.outputs.set(containerId, { podUid, lines: [...lines], narrated, ended: false });
    const ids = this.byPod.get(podUid) ?? [];
    if (!ids.includes(containerId)) ids.push(containerId);
    this.byPod.set(podUid, ids);
  }

  /** The double's own line about a container (ready, exited), kept when its image declares no logs. */
  remark(containerId: string, line: LogLine): void {
    const output = this.outputs.get(containerId);
    if (output?.narrated === true && !output.ended) output.lines.push(line);
  }

  /** A container ends: all its lines are printed. */
  end(containerId: string): void {
    const output = this.outputs.get(containerId);
    if (output !== undefined) output.ended = true;
  }

  /** A pod is gone, and its containers' logs with it. */
  forget(podUid: string): void {
    for (const id of this.byPod.get(podUid) ?? []) this.outputs.delete(id);
    this.byPod.delete(podUid);
  }

  /** What a container has printed so far (nothing for a container the runtime never ran). */
  printed(containerId: string): LogLine[] {
    const output = this.outputs.get(containerId);
    if (output === undefined) return [];
    const now = this.clock.now();
    return output.ended ? [...output.lines] : output.lines.filter((l) => l.at <= now);
  }
}

/** The query of a pods/log request, as the real PodLogOptions holds it. */
export interface PodLogOptions {
  readonly container?: string;
  readonly tailLines?: number;
  readonly limitBytes?: number;
  readonly sinceSeconds?: number;
  /** Real milliseconds. */
  readonly sinceTime?: number;
  readonly timestamps: boolean;
  readonly previous: boolean;
}

/** Go's strconv.ParseBool, which decodes the real server's boolean query parameters. */
function queryBool(query: URLSearchParams, key: string): boolean {
  const value = query.get(key);
  if (value === null || value === '') return false;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  throw badRequest(`${key}: expected true or false, got ${JSON.stringify(value)}`);
}

function queryInteger(query: URLSearchParams, key: string): number | undefined {
  const value = query.get(key);
  if (value === null || value === '') return undefined;
  if (!/^-?\d+$/.test(value)) throw badRequest(`${key}: expected an integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

/**
 * The options of a pods/log request, checked as the real server's ValidatePodLogOptions does (422
 * `PodLogOptions "<pod>" is invalid`); a value that is not a number or boolean at all is a 400.
 */
export function parsePodLogOptions(query: URLSearchParams, podName: string): PodLogOptions {
  const container = query.get('container') ?? '';
  const tailLines = queryInteger(query, 'tailLines');
  const limitBytes = queryInteger(query, 'limitBytes');
  const sinceSeconds = queryInteger(query, 'sinceSeconds');
  const sinceTimeText = query.get('sinceTime') ?? '';
  const sinceTime = sinceTimeText === '' ? undefined : Date.parse(sinceTimeText);
  if (sinceTime !== undefined && Number.isNaN(sinceTime))
    throw badRequest(`sinceTime: expected an RFC 3339 time, got ${JSON.stringify(sinceTimeText)}`);
  const errors: string[] = [];
  if (tailLines !== undefined && tailLines < 0)
    errors.push(`tailLines: Invalid value: ${tailLines}: must be greater than or equal to 0`);
  if (limitBytes !== undefined && limitBytes < 1)
    errors.push(`limitBytes: Invalid value: ${limitBytes}: must be greater than 0`);
  if (sinceSeconds !== undefined && sinceTime !== undefined)
    errors.push('Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified');
  else if (sinceSeconds !== undefined && sinceSeconds < 1)
    errors.push(`sinceSeconds: Invalid value: ${sinceSeconds}: must be greater than 0`);
  if (errors.length > 0)
    throw new ApiError({
      code: 422,
      reason: 'Invalid',
      message: `PodLogOptions "${podName}" is invalid: ${errors.length === 1 ? (errors[0] ?? '') : `[${errors.join(', ')}]`}`,
      details: { name: podName, kind: 'PodLogOptions' },
    });
  return {
    ...(container === '' ? {} : { container }),
    ...(tailLines === undefined ? {} : { tailLines }),
    ...(limitBytes === undefined ? {} : { limitBytes }),
    ...(sinceSeconds === undefined ? {} : { sinceSeconds }),
    ...(sinceTime === undefined ? {} : { sinceTime }),
    timestamps: queryBool(query, 'timestamps'),
    previous: queryBool(query, 'previous'),
  };
}

/** The API server's choice of container: the only one, or the one named, which the pod must have. */
function chooseContainer(pod: JsonObject, podName: string, container: string | undefined): string {
  const spec = objectAt(pod, 'spec');
  // The real server lists init, regular and ephemeral containers, in that order.
  const names = ['initContainers', 'containers', 'ephemeralContainers'].flatMap((key) =>
    objectsAt(spec, key).map((c) => stringAt(c, 'name') ?? ''),
  );
  if (container === undefined) {
    const regular = objectsAt(spec, 'containers');
    const only = regular.length === 1 ? stringAt(regular[0], 'name') : undefined;
    if (only !== undefined) return only;
    throw badRequest(
      regular.length === 0
        ? `a container name must be specified for pod ${podName}`
        : `a container name must be specified for pod ${podName}, choose one of: [${names.join(' ')}]`,
    );
  }
  if (!names.includes(container)) throw badRequest(`container ${container} is not valid for pod ${podName}`);
  return container;
}

/**
 * The kubelet's choice of which container's log to read from the container's status (its
 * validateContainerLogStatus), with its messages, which the API server answers as 400s.
 */
function containerIdToRead(pod: JsonObject, podName: string, name: string, previous: boolean): string {
  const status = objectAt(pod, 'status');
  const containerStatus = ['containerStatuses', 'initContainerStatuses', 'ephemeralContainerStatuses']
    .flatMap((key) => objectsAt(status, key))
    .find((s) => s.name === name);
  const quoted = `${JSON.stringify(name)} in pod ${JSON.stringify(podName)}`;
  // Before the kubelet has reported on a container, it is waiting to be created.
  if (containerStatus === undefined)
    throw badRequest(`container ${quoted} is waiting to start: ContainerCreating`);
  const state = objectAt(containerStatus, 'state');
  const last = objectAt(objectAt(containerStatus, 'lastState'), 'terminated');
  const lastId = stringAt(last, 'containerID') ?? '';
  const currentId = stringAt(containerStatus, 'containerID') ?? '';
  if (previous) {
    if (lastId === '') throw badRequest(`previous terminated container ${quoted} not found`);
    return lastId;
  }
  if (objectAt(state, 'running') !== undefined) return currentId;
  const terminated = objectAt(state, 'terminated');
  if (terminated !== undefined) {
    if ((stringAt(terminated, 'containerID') ?? '') !== '') return currentId;
    if (lastId !== '') return lastId;
    throw badRequest(`container ${quoted} is terminated`);
  }
  if (last !== undefined) {
    if (lastId === '') throw badRequest(`container ${quoted} is terminated`);
    return lastId;
  }
  const waiting = objectAt(state, 'waiting');
  if (waiting !== undefined) {
    const reason = stringAt(waiting, 'reason') ?? '';
    if (reason === 'ErrImagePull')
      throw badRequest(`container ${quoted} is waiting to start: image can't be pulled`);
    if (reason === 'ImagePullBackOff')
      throw badRequest(`container ${quoted} is waiting to start: trying and failing to pull image`);
    throw badRequest(`container ${quoted} is waiting to start: ${reason}`);
  }
  throw badRequest(`container ${quoted} is waiting to start - no logs yet`);
}

/** RFC 3339 with nanoseconds, as the kubelet writes log timestamps. */
function logTimestamp(at: number): string {
  return new Date(at).toISOString().replace(/Z$/, '000000Z');
}

/**
 * The body of `GET .../pods/NAME/log` for a pod: the lines its container printed so far, each
 * ending in a newline, after `sinceSeconds`/`sinceTime`, the last `tailLines`, with `timestamps`,
 * cut at `limitBytes`. Throws the real server's 400s for a container it cannot name or read.
 */
export function podLogBody(pod: JsonObject, options: PodLogOptions, logs: PodLogs): Buffer {
  const podName = stringAt(objectAt(pod, 'metadata'), 'name') ?? '';
  const name = chooseContainer(pod, podName, options.container);
  // A pod no node has taken has no kubelet to ask: the real server answers an empty log.
  if ((stringAt(objectAt(pod, 'spec'), 'nodeName') ?? '') === '') return Buffer.alloc(0);
  let lines = logs.printed(containerIdToRead(pod, podName, name, options.previous));
  const since =
    options.sinceTime ??
    (options.sinceSeconds === undefined ? undefined : logs.clock.now() - options.sinceSeconds * 1000);
  if (since !== undefined) lines = lines.filter((l) => l.at >= since);
  if (options.tailLines !== undefined) lines = options.tailLines === 0 ? [] : lines.slice(-options.tailLines);
  const text = lines.map((l) => `${options.timestamps ? `${logTimestamp(l.at)} ` : ''}${l.text}\n`).join('');
  const body = Buffer.from(text, 'utf8');
  return options.limitBytes === undefined || body.length <= options.limitBytes
    ? body
    : body.subarray(0, options.limitBytes);
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiServer } from './api-server.js';
import { notFound, serviceUnavailable } from './api-status.js';
import { resolveTargetPort, selectedPods } from './endpoints-controller.js';
import type { BehaviourBook, ConcreteAnswer } from './image-behaviours.js';
import { numberAt, objectAt, objectsAt, stringAt, type JsonObject } from './json-value.js';
import { isPodReady } from './pod-lifecycle.js';
import { resourceTypeOfKind } from './resource-table.js';

/** `name`, `name:port` or `scheme:name:port`, as the API server splits a proxy id. */
export function splitServiceId(id: string): { scheme?: string; name: string; port: string } {
  const parts = id.split(':');
  if (parts.length === 3) return { scheme: parts[0] ?? '', name: parts[1] ?? '', port: parts[2] ?? '' };
  if (parts.length === 2) return { name: parts[0] ?? '', port: parts[1] ?? '' };
  return { name: id, port: '' };
}

/** Which pod answered a proxied request, and how. */
export interface ProxyAnswer extends ConcreteAnswer {
  readonly pod: string;
  readonly image: string;
}

/**
 * The API server's service proxy (`/api/v1/namespaces/NS/services/NAME[:PORT]/proxy/PATH`): picks a
 * Ready pod behind the Service, round-robin, and answers with the behaviour of the image serving the
 * target port (its error share decided and its latency drawn per request). No Ready pod: 503
 * `no endpoints available for service "NAME"`.
 */
export class ServiceProxy {
  private readonly cursors = new Map<string, number>();

  constructor(
    private readonly api: ApiServer,
    private readonly behaviours: BehaviourBook,
  ) {}

  /** Chooses the pod and its answer for a proxied path (throws ApiError for 404 and 503). */
  resolve(namespace: string, id: string, path: string): ProxyAnswer {
    const serviceType = resourceTypeOfKind('Service');
    if (serviceType === undefined) throw new Error('services are not served');
    const { name, port } = splitServiceId(id);
    const service = this.api.store.peek(serviceType, namespace, name);
    if (service === undefined) throw notFound(serviceType, name);
    const ports = objectsAt(objectAt(service, 'spec'), 'ports');
    const servicePort =
      port === ''
        ? ports[0]
        : ports.find((p) => stringAt(p, 'name') === port || String(numberAt(p, 'port') ?? '') === port);
    if (servicePort === undefined) throw serviceUnavailable(`no endpoints available for service "${id}"`);
    const ready = selectedPods(this.api, service).filter(
      (p) => isPodReady(p) && resolveTargetPort(p, servicePort) !== undefined,
    );
    if (ready.length === 0) throw serviceUnavailable(`no endpoints available for service "${name}"`);
    const key = `${namespace}/${name}`;
    const cursor = this.cursors.get(key) ?? 0;
    this.cursors.set(key, cursor + 1);
    const pod = ready[cursor % ready.length] ?? ready[0];
    if (pod === undefined) throw serviceUnavailable(`no endpoints available for service "${name}"`);
    const image = imageServing(pod, resolveTargetPort(pod, servicePort));
    const answer = this.behaviours.forImage(image).respond(path === '' ? '/' : path);
    const podName = stringAt(objectAt(pod, 'metadata'), 'name') ?? '';
    if (answer === undefined)
      return { status: 404, body: '404 page not found\n', latencyMs: 0, pod: podName, image };
    return { ...answer, pod: podName, image };
  }

  /** Serves one proxied request; returns the status sent. */
  async serve(
    req: IncomingMessage,
    res: ServerResponse,
    namespace: string,
    id: string,
    path: string,
  ): Promise<number> {
    const answer = this.resolve(namespace, id, path);
    if (answer.latencyMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, answer.latencyMs);
        req.on('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (res.destroyed) return answer.status;
    }
    res.writeHead(answer.status, {
      'Content-Type': looksLikeJson(answer.body) ? 'application/json' : 'text/plain; charset=utf-8',
      'X-Kube-Double-Pod': answer.pod,
    });
    res.end(answer.body);
    return answer.status;
  }
}

function imageServing(pod: JsonObject, port: number | undefined): string {
  const containers = objectsAt(objectAt(pod, 'spec'), 'containers');
  const byPort = containers.find((c) =>
    objectsAt(c, 'ports').some((p) => numberAt(p, 'containerPort') === port),
  );
  return stringAt(byPort ?? containers[0], 'image') ?? '';
}

function looksLikeJson(body: string): boolean {
  const t = body.trim();
  if (!(t.startsWith('{') || t.startsWith('['))) return false;
  try {
    JSON.parse(t);
    return true;
  } catch {
    return false;
  }
}

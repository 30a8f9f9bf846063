import { badRequest, unsupportedMediaType } from './api-status.js';
import type { JsonObject, JsonValue } from './json-value.js';

/**
 * Reads the Kubernetes protobuf bodies that kubectl's typed clients send (`kubectl create namespace`,
 * `create configmap|secret|service|deployment`, `auth can-i`): the `k8s\0` magic, a runtime.Unknown
 * envelope, and the object in the field numbers of the Kubernetes API's generated.proto. Only the
 * kinds and fields those commands write are described; unknown fields are skipped. Answers stay JSON,
 * which the typed clients accept.
 */

type Scalar = 'string' | 'int' | 'bool' | 'bytes';

interface Field {
  readonly name: string;
  readonly type: Scalar | 'message' | 'time' | 'intOrString' | 'quantity';
  readonly message?: () => Descriptor;
  readonly repeated?: boolean;
  /** A map<string, value>: entries are messages {1: key, 2: value}. */
  readonly mapOf?: 'string' | 'bytes' | 'quantity';
  /** A Go pointer: kept when zero (a non-pointer zero is omitted, as JSON's omitempty does). */
  readonly pointer?: boolean;
}

type Descriptor = Readonly<Record<number, Field>>;

const s = (name: string, extra: Partial<Field> = {}): Field => ({ name, type: 'string', ...extra });
const i = (name: string, extra: Partial<Field> = {}): Field => ({ name, type: 'int', ...extra });
const b = (name: string, extra: Partial<Field> = {}): Field => ({ name, type: 'bool', ...extra });
const m = (name: string, message: () => Descriptor, extra: Partial<Field> = {}): Field => ({
  name,
  type: 'message',
  message,
  ...extra,
});
const map = (name: string, of: 'string' | 'bytes' | 'quantity' = 'string'): Field => ({
  name,
  type: 'message',
  mapOf: of,
});
const list = (name: string): Field => ({ name, type: 'string', repeated: true });

const OWNER_REFERENCE: Descriptor = {
  1: s('kind'),
  3: s('name'),
  4: s('uid'),
  5: s('apiVersion'),
  6: b('controller', { pointer: true }),
  7: b('blockOwnerDeletion', { pointer: true }),
};
const OBJECT_META: Descriptor = {
  1: s('name'),
  2: s('generateName'),
  3: s('namespace'),
  5: s('uid'),
  6: s('resourceVersion'),
  7: i('generation'),
  8: { name: 'creationTimestamp', type: 'time' },
  11: map('labels'),
  12: map('annotations'),
  13: m('ownerReferences', () => OWNER_REFERENCE, { repeated: true }),
  14: list('finalizers'),
};
const LABEL_SELECTOR: Descriptor = {
  1: map('matchLabels'),
  2: m('matchExpressions', () => ({ 1: s('key'), 2: s('operator'), 3: list('values') }), { repeated: true }),
};
const CONTAINER_PORT: Descriptor = {
  1: s('name'),
  2: i('hostPort'),
  3: i('containerPort'),
  4: s('protocol'),
  5: s('hostIP'),
};
const ENV_VAR: Descriptor = { 1: s('name'), 2: s('value') };
const RESOURCES: Descriptor = { 1: map('limits', 'quantity'), 2: map('requests', 'quantity') };
const VOLUME_MOUNT: Descriptor = { 1: s('name'), 2: b('readOnly'), 3: s('mountPath'), 4: s('subPath') };
const CONTAINER: Descriptor = {
  1: s('name'),
  2: s('image'),
  3: list('command'),
  4: list('args'),
  5: s('workingDir'),
  6: m('ports', () => CONTAINER_PORT, { repeated: true }),
  7: m('env', () => ENV_VAR, { repeated: true }),
  8: m('resources', () => RESOURCES),
  9: m('volumeMounts', () => VOLUME_MOUNT, { repeated: true }),
  13: s('terminationMessagePath'),
  14: s('imagePullPolicy'),
  16: b('stdin'),
  17: b('stdinOnce'),
  18: b('tty'),
  20: s('terminationMessagePolicy'),
};
const POD_SPEC: Descriptor = {
  2: m('containers', () => CONTAINER, { repeated: true }),
  3: s('restartPolicy'),
  4: i('terminationGracePeriodSeconds', { pointer: true }),
  5: i('activeDeadlineSeconds', { pointer: true }),
  6: s('dnsPolicy'),
  7: map('nodeSelector'),
  8: s('serviceAccountName'),
  9: s('serviceAccount'),
  10: s('nodeName'),
  11: b('hostNetwork'),
  14: m('securityContext', () => ({})),
  15: m('imagePullSecrets', () => ({ 1: s('name') }), { repeated: true }),
  16: s('hostname'),
  17: s('subdomain'),
  19: s('schedulerName'),
  20: m('initContainers', () => CONTAINER, { repeated: true }),
  24: s('priorityClassName'),
};
const POD_TEMPLATE: Descriptor = { 1: m('metadata', () => OBJECT_META), 2: m('spec', () => POD_SPEC) };
const DEPLOYMENT: Descriptor = {
  1: m('metadata', () => OBJECT_META),
  2: m('spec', () => ({
    1: i('replicas', { pointer: true }),
    2: m('selector', () => LABEL_SELECTOR),
    3: m('template', () => POD_TEMPLATE),
    4: m('strategy', () => ({
      1: s('type'),
      2: m('rollingUpdate', () => ({
        1: { name: 'maxUnavailable', type: 'intOrString' },
        2: { name: 'maxSurge', type: 'intOrString' },
      })),
    })),
    5: i('minReadySeconds'),
    6: i('revisionHistoryLimit', { pointer: true }),
    7: b('paused'),
    9: i('progressDeadlineSeconds', { pointer: true }),
  })),
};
const SERVICE: Descriptor = {
  1: m('metadata', () => OBJECT_META),
  2: m('spec', () => ({
    1: m(
      'ports',
      () => ({
        1: s('name'),
        2: s('protocol'),
        3: i('port'),
        4: { name: 'targetPort', type: 'intOrString' },
        5: i('nodePort'),
        6: s('appProtocol', { pointer: true }),
      }),
      { repeated: true },
    ),
    2: map('selector'),
    3: s('clusterIP'),
    4: s('type'),
    5: list('externalIPs'),
    7: s('sessionAffinity'),
    10: s('externalName'),
    11: s('externalTrafficPolicy'),
    13: b('publishNotReadyAddresses'),
    17: s('ipFamilyPolicy', { pointer: true }),
    18: list('clusterIPs'),
    19: list('ipFamilies'),
    22: s('internalTrafficPolicy', { pointer: true }),
  })),
};

/** The kinds whose protobuf bodies are understood, by kind. */
const KINDS: Readonly<Record<string, Descriptor>> = {
  Namespace: { 1: m('metadata', () => OBJECT_META), 2: m('spec', () => ({ 1: list('finalizers') })) },
  ConfigMap: {
    1: m('metadata', () => OBJECT_META),
    2: map('data'),
    3: map('binaryData', 'bytes'),
    4: b('immutable', { pointer: true }),
  },
  Secret: {
    1: m('metadata', () => OBJECT_META),
    2: map('data', 'bytes'),
    3: s('type'),
    4: map('stringData'),
    5: b('immutable', { pointer: true }),
  },
  Service: SERVICE,
  Deployment: DEPLOYMENT,
  Pod: { 1: m('metadata', () => OBJECT_META), 2: m('spec', () => POD_SPEC) },
  SelfSubjectAccessReview: {
    1: m('metadata', () => OBJECT_META),
    2: m('spec', () => ({
      1: m('resourceAttributes', () => ({
        1: s('namespace'),
        2: s('verb'),
        3: s('group'),
        4: s('version'),
        5: s('resource'),
        6: s('subresource'),
        7: s('name'),
      })),
      2: m('nonResourceAttributes', () => ({ 1: s('path'), 2: s('verb') })),
    })),
  },
};

/** The media type of Kubernetes protobuf. */
export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';

interface RawField {
  readonly number: number;
  readonly varint?: bigint;
  readonly bytes?: Buffer;
}

function readFields(buf: Buffer): RawField[] {
  const fields: RawField[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let value = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= buf.length) throw badRequest('truncated protobuf body');
      const byte = buf[pos++] ?? 0;
      value |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value;
      shift += 7n;
    }
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const number = key >>> 3;
    const wire = key & 7;
    if (wire === 0) fields.push({ number, varint: varint() });
    else if (wire === 2) {
      const length = Number(varint());
      fields.push({ number, bytes: buf.subarray(pos, pos + length) });
      pos += length;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw badRequest(`unsupported protobuf wire type ${wire}`);
  }
  return fields;
}

function scalar(raw: RawField, type: Scalar): JsonValue {
  switch (type) {
    case 'string':
      return raw.bytes?.toString('utf8') ?? '';
    case 'bytes':
      return raw.bytes?.toString('base64') ?? '';
    case 'bool':
      return raw.varint !== undefined && raw.varint !== 0n;
    case 'int':
      return Number(BigInt.asIntN(64, raw.varint ?? 0n));
  }
}

function text(raw: RawField | undefined): string {
  return raw?.bytes?.toString('utf8') ?? '';
}

/** The first field with a number, if any. */
function numbered(fields: readonly RawField[], number: number): RawField | undefined {
  return fields.find((f) => f.number === number);
}

function isZero(value: JsonValue): boolean {
  return value === '' || value === 0 || value === false;
}

function decodeMessage(buf: Buffer, descriptor: Descriptor): JsonObject {
  const result: JsonObject = {};
  for (const raw of readFields(buf)) {
    const field = descriptor[raw.number];
    if (field === undefined) continue;
    let value: JsonValue;
    if (field.mapOf !== undefined) {
      const entry = readFields(raw.bytes ?? Buffer.alloc(0));
      const key = entry.find((f) => f.number === 1);
      const val = entry.find((f) => f.number === 2);
      const target = (result[field.name] ??= {}) as JsonObject;
      const k = text(key);
      target[k] =
        val === undefined
          ? ''
          : field.mapOf === 'quantity'
            ? text(numbered(readFields(val.bytes ?? Buffer.alloc(0)), 1))
            : scalar(val, field.mapOf);
      continue;
    }
    switch (field.type) {
      case 'message':
        value = decodeMessage(raw.bytes ?? Buffer.alloc(0), field.message?.() ?? {});
        break;
      case 'time': {
        const parts = readFields(raw.bytes ?? Buffer.alloc(0));
        const seconds = parts.find((f) => f.number === 1)?.varint;
        value =
          seconds === undefined
            ? null
            : new Date(Number(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
        break;
      }
      case 'intOrString': {
        const parts = readFields(raw.bytes ?? Buffer.alloc(0));
        const kind = parts.find((f) => f.number === 1)?.varint ?? 0n;
        const intVal = parts.find((f) => f.number === 2);
        const strVal = parts.find((f) => f.number === 3);
        value = kind === 1n ? text(strVal) : intVal === undefined ? 0 : Number(scalar(intVal, 'int'));
        break;
      }
      case 'quantity':
        value = text(numbered(readFields(raw.bytes ?? Buffer.alloc(0)), 1));
        break;
      default:
        value = scalar(raw, field.type);
    }
    if (field.repeated === true) {
      const target = result[field.name];
      if (Array.isArray(target)) target.push(value);
      else result[field.name] = [value];
    } else if (field.pointer === true || !isZero(value) || field.type === 'message') {
      if (value !== null) result[field.name] = value;
    }
  }
  return result;
}

/**
 * Decodes a protobuf request body into the JSON object it stands for. Throws 415 for a kind this
 * reader does not describe.
 */
export function decodeProtobufBody(body: Buffer, contentType: string): JsonObject {
  if (body.subarray(0, 4).toString('latin1') !== 'k8s\0')
    throw badRequest('a protobuf body must start with the k8s magic');
  const envelope = readFields(body.subarray(4));
  const typeMeta = readFields(envelope.find((f) => f.number === 1)?.bytes ?? Buffer.alloc(0));
  const apiVersion = text(numbered(typeMeta, 1));
  const kind = text(numbered(typeMeta, 2));
  const descriptor = KINDS[kind];
  if (descriptor === undefined) throw unsupportedMediaType(`${contentType} (for ${kind})`);
  const raw = envelope.find((f) => f.number === 2)?.bytes ?? Buffer.alloc(0);
  return { apiVersion, kind, ...decodeMessage(raw, descriptor) };
}

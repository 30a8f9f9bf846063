export * from './kube-double.js';
export type { RequestRecord, WriteRecord } from './activity-log.js';
export type { FaultRule } from './faults.js';
export { parseFaultRules } from './faults.js';
export type {
  BehaviourBookOptions,
  ConcreteAnswer,
  ErrorShare,
  HttpAnswer,
  ImageBehaviour,
  Latency,
  Readiness,
  ResolvedBehaviour,
} from './image-behaviours.js';
export { BehaviourBook, MAX_LATENCY_MS, parseBehaviours, parseBehavioursText } from './image-behaviours.js';
export type { Violation, ViolationKind } from './invariant-monitor.js';
export { COLOR_LABEL } from './invariant-monitor.js';
export type { ApiServer } from './api-server.js';
export type { JsonObject, JsonValue } from './json-value.js';
export type { AccessRule } from './access-review.js';
export type { TrafficSummary } from './traffic-monitor.js';

import { describe, expect, it } from '@jest/globals';
import type { JsonObject } from '../src/json-value.js';
import { ObjectStore, nameOf, namespaceOf, type StoreChange } from '../src/object-store.js';
import { RESOURCE_TYPES, resourceTypeOfKind, type ResourceType } from '../src/resource-table.js';

function typeOf(kind: string): ResourceType {
  const type = resourceTypeOfKind(kind);
  if (type === undefined) throw new Error(`no ${kind}`);
  return type;
}

const configMaps = typeOf('ConfigMap');
const pods = typeOf('Pod');
const replicaSets = typeOf('ReplicaSet');

function configMap(namespace: string, name: string, data: Record<string, string> = {}): JsonObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
}

function ownedBy(kind: string, namespace: string, name: string, owners: readonly string[]): JsonObject {
  return {
    kind,
    metadata: {
      name,
      namespace,
      ownerReferences: owners.map((uid) => ({ apiVersion: 'v1', kind: 'Owner', name: uid, uid })),
    },
  };
}

const keys = (objects: readonly JsonObject[]): string[] =>
  objects.map((o) => `${namespaceOf(o)}/${nameOf(o)}`);

describe('ObjectStore', () => {
  it('lists and views in namespace and name order, copies and stored objects alike', () => {
    const store = new ObjectStore();
    for (const [ns, name] of [
      ['a-b', 'x'],
      ['a', 'z'],
      ['b', 'm'],
      ['a', 'b'],
      ['a', 'a-1'],
    ] as const)
      store.put(configMaps, configMap(ns, name));

    // Byte order of `namespace/name`, as etcd keeps its keys: `a-b/…` before `a/…` ('-' < '/').
    const all = ['a-b/x', 'a/a-1', 'a/b', 'a/z', 'b/m'];
    expect(keys(store.view(configMaps))).toEqual(all);
    expect(keys(store.list(configMaps))).toEqual(all);
    expect(keys(store.view(configMaps, 'a'))).toEqual(['a/a-1', 'a/b', 'a/z']);
    expect(keys(store.list(configMaps, 'a'))).toEqual(['a/a-1', 'a/b', 'a/z']);
    expect(store.view(configMaps, 'nowhere')).toEqual([]);
    expect(store.view(pods)).toEqual([]);
  });

  it('hands out frozen stored objects from view and peek, and copies from list and get', () => {
    const store = new ObjectStore();
    store.put(configMaps, configMap('ns', 'cm', { key: 'one' }));

    const viewed = store.view(configMaps, 'ns')[0];
    const peeked = store.peek(configMaps, 'ns', 'cm');
    expect(peeked).toBe(viewed);
    expect(() => {
      (peeked?.data as JsonObject).key = 'changed';
    }).toThrow(TypeError);
    expect(() => {
      (store.view(configMaps, 'ns') as JsonObject[]).push(configMap('ns', 'extra'));
    }).toThrow(TypeError);

    const copy = store.get(configMaps, 'ns', 'cm');
    const listed = store.list(configMaps, 'ns')[0];
    (copy?.data as JsonObject).key = 'changed';
    (listed?.data as JsonObject).key = 'changed too';
    expect(store.peek(configMaps, 'ns', 'cm')?.data).toEqual({ key: 'one' });
    expect(store.get(configMaps, 'ns', 'absent')).toBeUndefined();
  });

  it('never changes a view already handed out; the next view shows the write', () => {
    const store = new ObjectStore();
    store.put(configMaps, configMap('ns', 'first', { v: '1' }));
    const before = store.view(configMaps, 'ns');
    const beforeAll = store.view(configMaps);

    store.put(configMaps, configMap('ns', 'first', { v: '2' }));
    store.put(configMaps, configMap('ns', 'second'));
    expect(before).toHaveLength(1);
    expect(before[0]?.data).toEqual({ v: '1' });
    expect(beforeAll).toHaveLength(1);
    expect(keys(store.view(configMaps, 'ns'))).toEqual(['ns/first', 'ns/second']);
    expect(store.view(configMaps, 'ns')[0]?.data).toEqual({ v: '2' });

    store.remove(configMaps, 'ns', 'first');
    expect(keys(store.view(configMaps))).toEqual(['ns/second']);
    store.remove(configMaps, 'ns', 'second');
    expect(store.view(configMaps, 'ns')).toEqual([]);
    expect(store.view(configMaps)).toEqual([]);
  });

  it('keeps what the caller passed to put and what put returns apart from the stored object', () => {
    const store = new ObjectStore();
    const input = configMap('ns', 'cm', { key: 'one' });
    const returned = store.put(configMaps, input);
    (input.data as JsonObject).key = 'input changed';
    (returned.data as JsonObject).key = 'result changed';
    expect(store.peek(configMaps, 'ns', 'cm')?.data).toEqual({ key: 'one' });
    expect(Object.isFrozen(input)).toBe(false);
    expect(returned.metadata).toMatchObject({ resourceVersion: String(store.currentResourceVersion()) });
  });

  it('tells listeners the stored object (frozen) and, on a change or removal, the one before', () => {
    const store = new ObjectStore();
    const changes: StoreChange[] = [];
    store.subscribe((c) => changes.push(c));
    store.put(configMaps, configMap('ns', 'cm', { v: '1' }));
    store.put(configMaps, configMap('ns', 'cm', { v: '2' }));
    store.remove(configMaps, 'ns', 'cm');

    expect(changes.map((c) => c.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    const [added, modified, deleted] = changes;
    expect(modified?.previous).toBe(added?.object);
    expect(deleted?.previous).toBe(modified?.object);
    expect(deleted?.object.data).toEqual({ v: '2' });
    expect((deleted?.object.metadata as JsonObject).resourceVersion).toBe(
      String(store.currentResourceVersion()),
    );
    for (const change of changes) expect(Object.isFrozen(change.object)).toBe(true);
    expect(store.changesSince(store.oldestWatchableResourceVersion())).toEqual(changes);
  });

  it('finds the dependents of an owner by uid, in resource table order, as ownership changes', () => {
    const store = new ObjectStore();
    store.put(pods, ownedBy('Pod', 'ns', 'p-2', ['owner']));
    store.put(pods, ownedBy('Pod', 'ns', 'p-1', ['owner', 'other']));
    store.put(replicaSets, ownedBy('ReplicaSet', 'ns', 'rs', ['owner']));
    store.put(configMaps, configMap('ns', 'unowned'));

    const found = (uid: string): string[] =>
      store.dependentsOf(uid).map((d) => `${d.type.kind} ${nameOf(d.object)}`);
    const podGroup = ['Pod p-1', 'Pod p-2'];
    expect(found('owner')).toEqual(
      RESOURCE_TYPES.indexOf(pods) < RESOURCE_TYPES.indexOf(replicaSets)
        ? [...podGroup, 'ReplicaSet rs']
        : ['ReplicaSet rs', ...podGroup],
    );
    expect(found('other')).toEqual(['Pod p-1']);

    // A write that drops the reference, and a removal, take the object out.
    store.put(pods, ownedBy('Pod', 'ns', 'p-1', ['other']));
    store.remove(pods, 'ns', 'p-2');
    expect(found('owner')).toEqual(['ReplicaSet rs']);
    expect(found('other')).toEqual(['Pod p-1']);
    store.remove(pods, 'ns', 'p-1');
    expect(found('other')).toEqual([]);
    expect(Object.isFrozen(store.dependentsOf('owner')[0]?.object)).toBe(true);
  });
});

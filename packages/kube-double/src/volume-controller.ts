import { CLAIM_PROTECTION, VOLUME_PROTECTION } from './admission.js';
import type { ApiServer } from './api-server.js';
import { SIMULATED_PROVISIONER } from './cluster-setup.js';
import { QueueController, keyOf, splitKey } from './controller.js';
import type { EventRecorder } from './event-recorder.js';
import { arrayAt, cloneJson, objectAt, objectsAt, stringAt, type JsonObject } from './json-value.js';
import { nameOf, namespaceOf, uidOf, type StoreChange } from './object-store.js';
import { podPhase } from './owned-pods.js';
import { builtInType } from './resource-table.js';

const CLAIM_KEY = 'claim:';
const VOLUME_KEY = 'volume:';

/**
 * The persistent-volume controllers in one: every claim is bound at once to a new simulated volume
 * (`pvc-<claim uid>`, the requested size, the class's reclaim policy); the protection finalizer
 * comes off a claim being deleted once no running pod mounts it; a volume whose claim is gone is
 * deleted (reclaim policy Delete) or Released (Retain).
 */
export class VolumeController extends QueueController {
  private readonly claimType = builtInType('PersistentVolumeClaim');
  private readonly volumeType = builtInType('PersistentVolume');
  private readonly classType = builtInType('StorageClass');
  private readonly podType = builtInType('Pod');

  constructor(
    api: ApiServer,
    private readonly events: EventRecorder,
    onError: (key: string, error: unknown) => void,
  ) {
    super(api, onError);
  }

  protected onChange(change: StoreChange): void {
    if (change.resourceType === this.claimType) {
      this.queue.add(`${CLAIM_KEY}${keyOf(namespaceOf(change.object), nameOf(change.object))}`);
      const volume = stringAt(objectAt(change.object, 'spec'), 'volumeName');
      if (change.type === 'DELETED' && volume !== undefined) this.queue.add(`${VOLUME_KEY}${volume}`);
    } else if (change.resourceType === this.volumeType && change.type !== 'DELETED') {
      this.queue.add(`${VOLUME_KEY}${nameOf(change.object)}`);
    } else if (change.resourceType === this.podType) {
      // A pod that stops (or goes) may free a claim that is being deleted.
      for (const pod of [change.object, change.previous])
        for (const claim of claimsOf(pod))
          this.queue.add(`${CLAIM_KEY}${keyOf(namespaceOf(change.object), claim)}`);
    }
  }

  protected sync(key: string): void {
    if (key.startsWith(VOLUME_KEY)) this.syncVolume(key.slice(VOLUME_KEY.length));
    else this.syncClaim(key.slice(CLAIM_KEY.length));
  }

  private syncClaim(key: string): void {
    const [namespace, name] = splitKey(key);
    const claim = this.api.store.peek(this.claimType, namespace, name);
    if (claim === undefined) return;
    const metadata = objectAt(claim, 'metadata');
    if (metadata?.deletionTimestamp !== undefined) {
      this.release(claim);
      return;
    }
    if (stringAt(objectAt(claim, 'status'), 'phase') === 'Bound') return;
    this.bind(claim);
  }

  private bind(claim: JsonObject): void {
    const spec = objectAt(claim, 'spec');
    const size = stringAt(objectAt(objectAt(spec, 'resources'), 'requests'), 'storage') ?? '1Gi';
    const className = stringAt(spec, 'storageClassName') ?? '';
    const storageClass = className === '' ? undefined : this.api.store.peek(this.classType, '', className);
    const volumeName = stringAt(spec, 'volumeName') ?? `pvc-${uidOf(claim)}`;
    const accessModes = cloneJson(arrayAt(spec, 'accessModes'));
    if (this.api.store.peek(this.volumeType, '', volumeName) === undefined) {
      this.api.createInternal(this.volumeType, {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: {
          name: volumeName,
          annotations: { 'pv.kubernetes.io/provisioned-by': SIMULATED_PROVISIONER },
        },
        spec: {
          capacity: { storage: size },
          accessModes,
          hostPath: { path: `/var/lib/kube-double/volumes/${volumeName}`, type: '' },
          claimRef: {
            apiVersion: 'v1',
            kind: 'PersistentVolumeClaim',
            namespace: namespaceOf(claim),
            name: nameOf(claim),
            uid: uidOf(claim),
          },
          persistentVolumeReclaimPolicy: stringAt(storageClass, 'reclaimPolicy') ?? 'Delete',
          storageClassName: className,
          volumeMode: stringAt(spec, 'volumeMode') ?? 'Filesystem',
        },
      });
      this.events.record(
        claim,
        'ProvisioningSucceeded',
        `Successfully provisioned volume ${volumeName}`,
        SIMULATED_PROVISIONER,
      );
    }
    const next = cloneJson(claim);
    const nextMeta = objectAt(next, 'metadata') ?? {};
    nextMeta.annotations = {
      ...(objectAt(nextMeta, 'annotations') ?? {}),
      'pv.kubernetes.io/bind-completed': 'yes',
      'pv.kubernetes.io/bound-by-controller': 'yes',
      'volume.beta.kubernetes.io/storage-provisioner': SIMULATED_PROVISIONER,
      'volume.kubernetes.io/storage-provisioner': SIMULATED_PROVISIONER,
    };
    const nextSpec = objectAt(next, 'spec') ?? {};
    nextSpec.volumeName = volumeName;
    const bound = this.api.writeInternal(this.claimType, claim, next, undefined);
    const withStatus = cloneJson(bound);
    withStatus.status = { phase: 'Bound', accessModes, capacity: { storage: size } };
    this.api.writeInternal(this.claimType, bound, withStatus, 'status');
  }

  /** Lets a claim being deleted go once no pod that still runs mounts it. */
  private release(claim: JsonObject): void {
    const inUse = this.api.store
      .view(this.podType, namespaceOf(claim))
      .some(
        (p) => claimsOf(p).includes(nameOf(claim)) && podPhase(p) !== 'Succeeded' && podPhase(p) !== 'Failed',
      );
    if (inUse) return;
    const finalizers = arrayAt(objectAt(claim, 'metadata'), 'finalizers');
    if (!finalizers.includes(CLAIM_PROTECTION)) return;
    const next = cloneJson(claim);
    const metadata = objectAt(next, 'metadata') ?? {};
    metadata.finalizers = finalizers.filter((f) => f !== CLAIM_PROTECTION);
    this.api.writeInternal(this.claimType, claim, next, undefined);
  }

  /** A volume whose claim is gone is deleted (Delete) or marked Released (Retain). */
  private syncVolume(name: string): void {
    const volume = this.api.store.peek(this.volumeType, '', name);
    if (volume === undefined) return;
    const ref = objectAt(objectAt(volume, 'spec'), 'claimRef');
    if (ref === undefined) return;
    const claim = this.api.store.peek(
      this.claimType,
      stringAt(ref, 'namespace') ?? '',
      stringAt(ref, 'name') ?? '',
    );
    if (claim !== undefined && uidOf(claim) === stringAt(ref, 'uid')) {
      if (stringAt(objectAt(volume, 'status'), 'phase') !== 'Bound') {
        const next = cloneJson(volume);
        next.status = { phase: 'Bound' };
        this.api.writeInternal(this.volumeType, volume, next, 'status');
      }
      return;
    }
    if (stringAt(objectAt(volume, 'spec'), 'persistentVolumeReclaimPolicy') === 'Delete') {
      const next = cloneJson(volume);
      const metadata = objectAt(next, 'metadata') ?? {};
      metadata.finalizers = arrayAt(metadata, 'finalizers').filter((f) => f !== VOLUME_PROTECTION);
      const unprotected = this.api.writeInternal(this.volumeType, volume, next, undefined);
      this.api.deleteInternal(this.volumeType, '', nameOf(unprotected));
      return;
    }
    if (stringAt(objectAt(volume, 'status'), 'phase') === 'Released') return;
    const next = cloneJson(volume);
    next.status = { phase: 'Released' };
    this.api.writeInternal(this.volumeType, volume, next, 'status');
  }
}

/** The claims a pod's volumes name. */
function claimsOf(pod: JsonObject | undefined): string[] {
  return objectsAt(objectAt(pod, 'spec'), 'volumes')
    .map((v) => stringAt(objectAt(v, 'persistentVolumeClaim'), 'claimName'))
    .filter((n): n is string => n !== undefined);
}

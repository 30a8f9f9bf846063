/**
 * One small, valid manifest per kind that real applications and charts ship, as a person would write
 * it, with the name kubectl prints for it and the columns `kubectl get` shows for it on a real 1.32
 * cluster.
 */
export interface KindCase {
  readonly kind: string;
  /** What kubectl prints before `serverside-applied` (`statefulset.apps/db`). */
  readonly printed: string;
  /** The argument `kubectl get` takes (`sts`, `crd`). */
  readonly resource: string;
  readonly name: string;
  readonly namespaced: boolean;
  /** The `kubectl get` header (table columns, upper case). */
  readonly columns: readonly string[];
  readonly manifest: Record<string, unknown>;
  /** The same object with one change, for `kubectl diff`. */
  readonly changed: Record<string, unknown>;
}

const NS = 'kinds';

function withMeta(
  apiVersion: string,
  kind: string,
  name: string,
  namespaced: boolean,
  body: Record<string, unknown>,
): Record<string, unknown> {
  return { apiVersion, kind, metadata: { name, ...(namespaced ? { namespace: NS } : {}) }, ...body };
}

function podTemplate(
  labels: Record<string, string>,
  image: string,
  restartPolicy?: string,
): Record<string, unknown> {
  return {
    metadata: { labels },
    spec: {
      ...(restartPolicy === undefined ? {} : { restartPolicy }),
      containers: [{ name: 'main', image, ports: [{ name: 'http', containerPort: 8080 }] }],
    },
  };
}

function statefulSet(image: string): Record<string, unknown> {
  return withMeta('apps/v1', 'StatefulSet', 'db', true, {
    spec: {
      serviceName: 'db',
      replicas: 2,
      selector: { matchLabels: { app: 'db' } },
      template: podTemplate({ app: 'db' }, image),
      volumeClaimTemplates: [
        {
          metadata: { name: 'data' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        },
      ],
    },
  });
}

function daemonSet(image: string): Record<string, unknown> {
  return withMeta('apps/v1', 'DaemonSet', 'agent', true, {
    spec: { selector: { matchLabels: { app: 'agent' } }, template: podTemplate({ app: 'agent' }, image) },
  });
}

function job(parallelism: number): Record<string, unknown> {
  return withMeta('batch/v1', 'Job', 'migrate', true, {
    spec: { parallelism, backoffLimit: 2, template: podTemplate({ app: 'migrate' }, 'migrate:1', 'Never') },
  });
}

function cronJob(schedule: string): Record<string, unknown> {
  return withMeta('batch/v1', 'CronJob', 'cleanup', true, {
    spec: {
      schedule,
      jobTemplate: { spec: { template: podTemplate({ app: 'cleanup' }, 'cleanup:1', 'OnFailure') } },
    },
  });
}

function crd(shortName: string): Record<string, unknown> {
  return withMeta('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'widgets.kinds.example.com', false, {
    spec: {
      group: 'kinds.example.com',
      scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget', shortNames: [shortName] },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } },
            },
          },
        },
      ],
    },
  });
}

/** Every kind the double serves beyond the first example's, one case each. */
export const KIND_CASES: readonly KindCase[] = [
  {
    kind: 'ServiceAccount',
    printed: 'serviceaccount/web',
    resource: 'sa',
    name: 'web',
    namespaced: true,
    columns: ['NAME', 'SECRETS', 'AGE'],
    manifest: withMeta('v1', 'ServiceAccount', 'web', true, { automountServiceAccountToken: false }),
    changed: withMeta('v1', 'ServiceAccount', 'web', true, { automountServiceAccountToken: true }),
  },
  {
    kind: 'PersistentVolumeClaim',
    printed: 'persistentvolumeclaim/data',
    resource: 'pvc',
    name: 'data',
    namespaced: true,
    columns: [
      'NAME',
      'STATUS',
      'VOLUME',
      'CAPACITY',
      'ACCESS MODES',
      'STORAGECLASS',
      'VOLUMEATTRIBUTESCLASS',
      'AGE',
    ],
    manifest: withMeta('v1', 'PersistentVolumeClaim', 'data', true, {
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    }),
    changed: {
      ...withMeta('v1', 'PersistentVolumeClaim', 'data', true, {
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      }),
      metadata: { name: 'data', namespace: NS, labels: { tier: 'db' } },
    },
  },
  {
    kind: 'LimitRange',
    printed: 'limitrange/limits',
    resource: 'limits',
    name: 'limits',
    namespaced: true,
    columns: ['NAME', 'CREATED AT'],
    manifest: withMeta('v1', 'LimitRange', 'limits', true, {
      spec: { limits: [{ type: 'Container', default: { cpu: '500m' } }] },
    }),
    changed: withMeta('v1', 'LimitRange', 'limits', true, {
      spec: { limits: [{ type: 'Container', default: { cpu: '250m' } }] },
    }),
  },
  {
    kind: 'ResourceQuota',
    printed: 'resourcequota/quota',
    resource: 'quota',
    name: 'quota',
    namespaced: true,
    columns: ['NAME', 'AGE', 'REQUEST', 'LIMIT'],
    manifest: withMeta('v1', 'ResourceQuota', 'quota', true, {
      spec: { hard: { pods: '20', 'limits.cpu': '8' } },
    }),
    changed: withMeta('v1', 'ResourceQuota', 'quota', true, {
      spec: { hard: { pods: '30', 'limits.cpu': '8' } },
    }),
  },
  {
    kind: 'StatefulSet',
    printed: 'statefulset.apps/db',
    resource: 'sts',
    name: 'db',
    namespaced: true,
    columns: ['NAME', 'READY', 'AGE'],
    manifest: statefulSet('db:1'),
    changed: statefulSet('db:2'),
  },
  {
    kind: 'DaemonSet',
    printed: 'daemonset.apps/agent',
    resource: 'ds',
    name: 'agent',
    namespaced: true,
    columns: ['NAME', 'DESIRED', 'CURRENT', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'NODE SELECTOR', 'AGE'],
    manifest: daemonSet('agent:1'),
    changed: daemonSet('agent:2'),
  },
  {
    kind: 'Job',
    printed: 'job.batch/migrate',
    resource: 'job',
    name: 'migrate',
    namespaced: true,
    columns: ['NAME', 'STATUS', 'COMPLETIONS', 'DURATION', 'AGE'],
    manifest: job(1),
    changed: job(2),
  },
  {
    kind: 'CronJob',
    printed: 'cronjob.batch/cleanup',
    resource: 'cj',
    name: 'cleanup',
    namespaced: true,
    columns: ['NAME', 'SCHEDULE', 'TIMEZONE', 'SUSPEND', 'ACTIVE', 'LAST SCHEDULE', 'AGE'],
    manifest: cronJob('*/5 * * * *'),
    changed: cronJob('@hourly'),
  },
  {
    kind: 'NetworkPolicy',
    printed: 'networkpolicy.networking.k8s.io/web',
    resource: 'netpol',
    name: 'web',
    namespaced: true,
    columns: ['NAME', 'POD-SELECTOR', 'AGE'],
    manifest: withMeta('networking.k8s.io/v1', 'NetworkPolicy', 'web', true, {
      spec: {
        podSelector: { matchLabels: { app: 'web' } },
        ingress: [{ from: [{ podSelector: { matchLabels: { app: 'gateway' } } }], ports: [{ port: 8080 }] }],
      },
    }),
    changed: withMeta('networking.k8s.io/v1', 'NetworkPolicy', 'web', true, {
      spec: {
        podSelector: { matchLabels: { app: 'web' } },
        ingress: [{ from: [{ podSelector: { matchLabels: { app: 'gateway' } } }], ports: [{ port: 9090 }] }],
      },
    }),
  },
  {
    kind: 'IngressClass',
    printed: 'ingressclass.networking.k8s.io/nginx',
    resource: 'ingressclass',
    name: 'nginx',
    namespaced: false,
    columns: ['NAME', 'CONTROLLER', 'PARAMETERS', 'AGE'],
    manifest: withMeta('networking.k8s.io/v1', 'IngressClass', 'nginx', false, {
      spec: { controller: 'k8s.io/ingress-nginx' },
    }),
    changed: withMeta('networking.k8s.io/v1', 'IngressClass', 'nginx', false, {
      spec: { controller: 'k8s.io/ingress-nginx', parameters: { kind: 'ConfigMap', name: 'nginx' } },
    }),
  },
  {
    kind: 'Role',
    printed: 'role.rbac.authorization.k8s.io/reader',
    resource: 'role',
    name: 'reader',
    namespaced: true,
    columns: ['NAME', 'CREATED AT'],
    manifest: withMeta('rbac.authorization.k8s.io/v1', 'Role', 'reader', true, {
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }],
    }),
    changed: withMeta('rbac.authorization.k8s.io/v1', 'Role', 'reader', true, {
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
    }),
  },
  {
    kind: 'RoleBinding',
    printed: 'rolebinding.rbac.authorization.k8s.io/reader',
    resource: 'rolebinding',
    name: 'reader',
    namespaced: true,
    columns: ['NAME', 'ROLE', 'AGE'],
    manifest: withMeta('rbac.authorization.k8s.io/v1', 'RoleBinding', 'reader', true, {
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'web', namespace: NS }],
    }),
    changed: withMeta('rbac.authorization.k8s.io/v1', 'RoleBinding', 'reader', true, {
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: NS }],
    }),
  },
  {
    kind: 'ClusterRole',
    printed: 'clusterrole.rbac.authorization.k8s.io/kinds-viewer',
    resource: 'clusterrole',
    name: 'kinds-viewer',
    namespaced: false,
    columns: ['NAME', 'CREATED AT'],
    manifest: withMeta('rbac.authorization.k8s.io/v1', 'ClusterRole', 'kinds-viewer', false, {
      rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }],
    }),
    changed: withMeta('rbac.authorization.k8s.io/v1', 'ClusterRole', 'kinds-viewer', false, {
      rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'watch'] }],
    }),
  },
  {
    kind: 'ClusterRoleBinding',
    printed: 'clusterrolebinding.rbac.authorization.k8s.io/kinds-viewer',
    resource: 'clusterrolebinding',
    name: 'kinds-viewer',
    namespaced: false,
    columns: ['NAME', 'ROLE', 'AGE'],
    manifest: withMeta('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'kinds-viewer', false, {
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kinds-viewer' },
      subjects: [{ kind: 'ServiceAccount', name: 'web', namespace: NS }],
    }),
    changed: withMeta('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'kinds-viewer', false, {
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kinds-viewer' },
      subjects: [{ kind: 'Group', name: 'viewers', apiGroup: 'rbac.authorization.k8s.io' }],
    }),
  },
  {
    kind: 'PriorityClass',
    printed: 'priorityclass.scheduling.k8s.io/high',
    resource: 'pc',
    name: 'high',
    namespaced: false,
    columns: ['NAME', 'VALUE', 'GLOBAL-DEFAULT', 'AGE', 'PREEMPTIONPOLICY'],
    manifest: withMeta('scheduling.k8s.io/v1', 'PriorityClass', 'high', false, {
      value: 1000,
      description: 'web',
    }),
    changed: withMeta('scheduling.k8s.io/v1', 'PriorityClass', 'high', false, {
      value: 1000,
      description: 'api',
    }),
  },
  {
    kind: 'CustomResourceDefinition',
    printed: 'customresourcedefinition.apiextensions.k8s.io/widgets.kinds.example.com',
    resource: 'crd',
    name: 'widgets.kinds.example.com',
    namespaced: false,
    columns: ['NAME', 'CREATED AT'],
    manifest: crd('wd'),
    changed: crd('wdg'),
  },
];

/** The namespace the namespaced cases live in. */
export const KINDS_NAMESPACE = NS;

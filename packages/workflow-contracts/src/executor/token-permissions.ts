/** The GITHUB_TOKEN scopes a workflow may set (`metadata: read` is always granted and not listed). */
export const PERMISSION_SCOPES = [
  'actions',
  'attestations',
  'checks',
  'contents',
  'deployments',
  'discussions',
  'id-token',
  'issues',
  'models',
  'packages',
  'pages',
  'pull-requests',
  'repository-projects',
  'security-events',
  'statuses',
] as const;

export type PermissionScope = (typeof PERMISSION_SCOPES)[number];
export type Access = 'none' | 'read' | 'write';
/** A token's access per scope. */
export type Permissions = Readonly<Record<PermissionScope, Access>>;

const RANK: Readonly<Record<Access, number>> = { none: 0, read: 1, write: 2 };

function all(access: Access): Permissions {
  return Object.fromEntries(PERMISSION_SCOPES.map((s) => [s, access])) as Record<PermissionScope, Access>;
}

/** `permissions: {}`: nothing. */
export const NO_PERMISSIONS: Permissions = all('none');

/** A repository whose default workflow permissions are "read repository contents and packages". */
export const RESTRICTED_DEFAULT: Permissions = { ...NO_PERMISSIONS, contents: 'read', packages: 'read' };

/**
 * Reads a `permissions:` value (already evaluated): `read-all`, `write-all`, `{}` or a mapping of
 * scopes. A scope that is not named gets `none`, as GitHub does once any scope is named.
 */
export function parsePermissions(value: unknown, where: string): Permissions {
  if (value === 'read-all') return all('read');
  if (value === 'write-all') return all('write');
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error(
      `${where}: permissions must be read-all, write-all or a mapping, got ${JSON.stringify(value)}`,
    );
  const out: Record<PermissionScope, Access> = { ...NO_PERMISSIONS };
  for (const [scope, access] of Object.entries(value as Record<string, unknown>)) {
    if (!(PERMISSION_SCOPES as readonly string[]).includes(scope))
      throw new Error(`${where}: unknown permission scope '${scope}'`);
    if (access !== 'none' && access !== 'read' && access !== 'write')
      throw new Error(
        `${where}: permission ${scope} must be none, read or write, got ${JSON.stringify(access)}`,
      );
    out[scope as PermissionScope] = access;
  }
  return out;
}

/** The scopes where `requested` asks for more than `granted`, as GitHub words the refusal. */
export function permissionExcess(requested: Permissions, granted: Permissions): string[] {
  return PERMISSION_SCOPES.filter((s) => RANK[requested[s]] > RANK[granted[s]]).map(
    (s) => `'${s}: ${requested[s]}', but is only allowed '${s}: ${granted[s]}'`,
  );
}

/** Each scope at most `ceiling` (the read-only token of a pull request from a fork). */
export function capPermissions(p: Permissions, ceiling: Access): Permissions {
  return Object.fromEntries(
    PERMISSION_SCOPES.map((s) => [s, RANK[p[s]] > RANK[ceiling] ? ceiling : p[s]]),
  ) as Record<PermissionScope, Access>;
}

/** The scopes with write access. */
export function writeScopes(p: Permissions): PermissionScope[] {
  return PERMISSION_SCOPES.filter((s) => p[s] === 'write');
}

export * from './run-record.js';
export {
  PERMISSION_SCOPES,
  NO_PERMISSIONS,
  RESTRICTED_DEFAULT,
  writeScopes,
  type Access,
  type PermissionScope,
  type Permissions,
} from './token-permissions.js';
export { localRepositories, usesTarget, type UsesTarget, type WorkflowResolver } from './workflow-source.js';
export * from './github-events.js';
export { NETWORK_TOOLS, type ToolStandIn } from './tool-stand-ins.js';
export { createArtifactStore, type ArtifactStore } from './artifact-store.js';
export * from './workflow-executor.js';

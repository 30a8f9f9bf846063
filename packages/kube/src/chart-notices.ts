/** A file of a chart, read only when it is a template. */
export interface ChartFileEntry {
  /** Its path inside the chart (`templates/secret.yaml`, `charts/redis/templates/x.yaml`). */
  readonly path: string;
  readonly read: () => Buffer;
}

/** Said of every chart rendered: the release is action-deploy's, not helm's. */
export const NO_RELEASE_SECRET_NOTICE =
  'No Helm release Secret is written: helm list and helm history do not show this release, and helm upgrade or helm rollback do not know it; action-deploy keeps its own release history.';

/** A template or CRD file of the chart itself or of a subchart (`charts/<name>/...`, nested). */
const TEMPLATE_FILE = /^(?:charts\/[^/]+\/)*templates\//;
/** helm reads only these from `crds/`. */
const CRD_FILE = /^(?:charts\/[^/]+\/)*crds\/.+\.(?:ya?ml|json)$/;
/** A template action, `{{ ... }}`, across lines. */
const ACTION = /\{\{(.*?)\}\}/gs;
const COMMENT = /\/\*.*?\*\//gs;
/** `lookup` as a function: at the start of a pipeline, after `(` or `|`, followed by an argument. */
const LOOKUP_CALL = /(?:^|[\s(|])lookup(?=[\s)]|$)/;
/** Templates larger than this are not scanned: helm refuses files over 5 MiB anyway. */
const SCAN_BYTES = 5 * 1024 * 1024;

/**
 * What differs, for this chart, from installing it with `helm install`: templates that call
 * `lookup` (which `helm template` answers with nothing), CRDs shipped in `crds/` (rendered and
 * applied with the release, so `allow-cluster-objects` must list them) and, always, that no Helm
 * release Secret is written.
 */
export function chartNotices(files: readonly ChartFileEntry[]): string[] {
  const notices: string[] = [];
  const lookups = files
    .filter((f) => TEMPLATE_FILE.test(f.path))
    .filter((f) => {
      const content = f.read();
      return content.length <= SCAN_BYTES && callsLookup(content.toString('utf8'));
    })
    .map((f) => f.path);
  if (lookups.length > 0)
    notices.push(
      `lookup returns nothing when rendered with helm template: ${lookups.join(', ')} ${lookups.length === 1 ? 'calls' : 'call'} lookup, so what the templates build from objects already in the cluster (a generated password kept across upgrades, an existing Secret) is built as if there were none.`,
    );
  const crds = files.filter((f) => CRD_FILE.test(f.path)).map((f) => f.path);
  if (crds.length > 0)
    notices.push(
      `CRDs in crds/ are rendered with the release and applied like every other object (they must be allowed by allow-cluster-objects): ${crds.join(', ')}. helm install would create them once and never update them.`,
    );
  notices.push(NO_RELEASE_SECRET_NOTICE);
  return notices;
}

/** Whether a template calls the `lookup` function in one of its actions (comments ignored). */
export function callsLookup(template: string): boolean {
  for (const match of template.matchAll(ACTION))
    if (LOOKUP_CALL.test((match[1] ?? '').replace(COMMENT, ' '))) return true;
  return false;
}

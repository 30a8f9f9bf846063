/** The repository our actions and reusable workflows are published from. */
export const OUR_REPOSITORY = 'dreamscape/actions';

/**
 * The ref a consumer's workflow (a starter workflow, a README example) uses for our actions and
 * reusable workflows: the major-version tag moved by each release.
 */
export const OUR_REF = 'v1';

/**
 * How our reusable workflows name our actions and each other: GitHub's self-repository syntax
 * (`$/action-build`, `$/.github/workflows/build-scan.yml`), which resolves to this repository at
 * the very commit of the running workflow, so a caller who pins a workflow by commit runs the
 * actions of that commit (ADR 14). `./` would resolve in the caller's checkout instead.
 */
export const SELF_PREFIX = '$/';

/** What a `uses:` names. `self` is true for the `$/` form, whose ref is the running commit (''). */
export type UsesReference =
  | { readonly kind: 'our-action'; readonly dir: string; readonly ref: string; readonly self: boolean }
  | { readonly kind: 'our-workflow'; readonly path: string; readonly ref: string; readonly self: boolean }
  | { readonly kind: 'local'; readonly path: string }
  | { readonly kind: 'docker'; readonly image: string }
  | {
      readonly kind: 'third-party';
      /** `owner/repo` */
      readonly repository: string;
      /** The path inside the repository ('' for the root action). */
      readonly path: string;
      readonly ref: string;
    };

/** Reads a `uses:` value. An unparseable one is returned as third-party with an empty ref (then unpinned). */
export function parseUses(uses: string): UsesReference {
  const text = uses.trim();
  if (text.startsWith(SELF_PREFIX)) {
    const path = text.slice(SELF_PREFIX.length).replace(/^\.\//, '').replace(/\/+$/, '');
    if (path.startsWith('.github/workflows/')) return { kind: 'our-workflow', path, ref: '', self: true };
    return { kind: 'our-action', dir: path, ref: '', self: true };
  }
  if (text.startsWith('./')) return { kind: 'local', path: text.slice(2) };
  if (text.startsWith('docker://')) return { kind: 'docker', image: text.slice('docker://'.length) };
  const at = text.lastIndexOf('@');
  const target = at < 0 ? text : text.slice(0, at);
  const ref = at < 0 ? '' : text.slice(at + 1);
  const parts = target.split('/');
  const repository = parts.slice(0, 2).join('/');
  const path = parts.slice(2).join('/');
  if (repository.toLowerCase() === OUR_REPOSITORY) {
    if (path.startsWith('.github/workflows/')) return { kind: 'our-workflow', path, ref, self: false };
    return { kind: 'our-action', dir: path, ref, self: false };
  }
  return { kind: 'third-party', repository, path, ref };
}

/** True when `uses` names our action in `dir` (`$/dir` or `dreamscape/actions/dir@ref`). */
export function namesOurAction(uses: string | undefined, dir: string): boolean {
  if (uses === undefined) return false;
  const ref = parseUses(uses);
  return ref.kind === 'our-action' && ref.dir === dir;
}

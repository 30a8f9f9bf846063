/** The repository our actions and reusable workflows are published from. */
export const OUR_REPOSITORY = 'dreamscape/actions';

/**
 * The one ref every workflow uses for our actions and reusable workflows: the major-version tag
 * moved by each release. A reusable workflow runs in the caller's checkout, so it cannot name our
 * actions by `./action-x`; naming them all at the same ref keeps a workflow and the actions it
 * calls from one release.
 */
export const OUR_REF = 'v1';

/** What a `uses:` names. */
export type UsesReference =
  | { readonly kind: 'our-action'; readonly dir: string; readonly ref: string }
  | { readonly kind: 'our-workflow'; readonly path: string; readonly ref: string }
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
  if (text.startsWith('./')) return { kind: 'local', path: text.slice(2) };
  if (text.startsWith('docker://')) return { kind: 'docker', image: text.slice('docker://'.length) };
  const at = text.lastIndexOf('@');
  const target = at < 0 ? text : text.slice(0, at);
  const ref = at < 0 ? '' : text.slice(at + 1);
  const parts = target.split('/');
  const repository = parts.slice(0, 2).join('/');
  const path = parts.slice(2).join('/');
  if (repository.toLowerCase() === OUR_REPOSITORY) {
    if (path.startsWith('.github/workflows/')) return { kind: 'our-workflow', path, ref };
    return { kind: 'our-action', dir: path, ref };
  }
  return { kind: 'third-party', repository, path, ref };
}

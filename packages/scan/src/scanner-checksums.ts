/**
 * The sha256 of each release archive we install without being told its checksum, by archive name
 * (the name carries scanner, version, OS and CPU). These are the values the projects publish in
 * their release's `*_checksums.txt`, copied here so that the server an archive comes from cannot
 * also vouch for it: a mirror, a proxy or a hijacked release that serves a matching pair of archive
 * and checksums file is still refused. A version or platform missing here installs only with the
 * caller's own `scanner-sha256`.
 *
 * Each value was cross-checked against independent public repositories that pin the same release
 * asset (listed in action-scan/README.md, "Scanner installation"): trivy 0.74.0 on all four
 * platforms and grype 0.116.0 on Linux are each pinned by several unrelated projects that agree;
 * grype 0.116.0 on macOS by one. A wrong value fails closed: the install is refused.
 */
export const PUBLISHED_SCANNER_SHA256: Readonly<Record<string, string>> = Object.freeze({
  'trivy_0.74.0_Linux-64bit.tar.gz': '2ae6fe3ee734b7fdf11335663e18c75ea12dccc76062f09f164a3b0f8be4371a',
  'trivy_0.74.0_Linux-ARM64.tar.gz': 'b94ce1976bbf3c15b514b605ee88be7c6d94a29be2302847ff01cb794d47aad5',
  'trivy_0.74.0_macOS-64bit.tar.gz': '472816f6888dda689d075c30254d4210b4d1035acf365aa72332f584c2f60485',
  'trivy_0.74.0_macOS-ARM64.tar.gz': '1caada5e0e2091909357c7525d3aa76f4b660b13821bc143b190c7483e31cc11',
  'grype_0.116.0_linux_amd64.tar.gz': '40aff724297312f91ea390d003bed8d8651c74cc7f5b26732db80b3a408d2fc5',
  'grype_0.116.0_linux_arm64.tar.gz': '7af3eed24f469b0cf3ab5ec4508d9c12f4bb9c2c6be714f32973c7b5d63cb6a5',
  'grype_0.116.0_darwin_amd64.tar.gz': '92dc64f7f1c71f92f610b250d801837c75a3c7336cb44656e59c4f1a07939163',
  'grype_0.116.0_darwin_arm64.tar.gz': '9425c225d0d63d2b384baf2177d3aba713a2bfb800235848ce70169e78c9c5fa',
});

/** A sha256 as `sha256sum` prints it: 64 hex digits. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The built-in sha256 of a release archive, when we ship one. */
export function publishedScannerSha256(archive: string): string | undefined {
  return Object.hasOwn(PUBLISHED_SCANNER_SHA256, archive) ? PUBLISHED_SCANNER_SHA256[archive] : undefined;
}

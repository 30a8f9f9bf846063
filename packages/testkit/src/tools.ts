import { execFileSync } from 'node:child_process';

/** How to get a missing tool, shown in the error. */
const INSTALL_HINTS: Readonly<Record<string, string>> = {
  buildah: 'apt-get install -y buildah (or run scripts/install-system-deps.sh)',
  'docker-registry': 'apt-get install -y docker-registry (or run scripts/install-system-deps.sh)',
  busybox: 'apt-get install -y busybox-static (or run scripts/install-system-deps.sh)',
  htpasswd: 'apt-get install -y apache2-utils (or run scripts/install-system-deps.sh)',
  openssl: 'apt-get install -y openssl (or run scripts/install-system-deps.sh)',
  diff: 'apt-get install -y diffutils (or run scripts/install-system-deps.sh)',
  prometheus: 'apt-get install -y prometheus (or run scripts/install-system-deps.sh)',
};

/**
 * The absolute path of a program on PATH. A test that needs a tool calls this first: when the tool
 * is missing it throws (the test fails), it never skips.
 */
export function requireTool(name: string): string {
  try {
    const found = execFileSync('sh', ['-c', 'command -v "$1"', 'sh', name], { encoding: 'utf8' }).trim();
    if (found !== '') return found;
  } catch {
    // fall through to the error below
  }
  const hint = INSTALL_HINTS[name] ?? `install ${name}`;
  throw new Error(`This test needs '${name}', which is not on PATH. Install it: ${hint}.`);
}

import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import {
  defaultAppName,
  InputError,
  readBoolean,
  readKubeconfig,
  RELEASE_NAME,
  RELEASE_NAME_ACCEPTED,
  readDuration,
  readEnum,
  readOutputPath,
  readString,
  type InputSource,
} from '@dreamscape/core';
import {
  ATTACH_VERDICT_MODES,
  FAIL_ON,
  defaultCategory,
  parseScanTarget,
  resolveInsideWorkspace,
  SCANNER_DRIVERS,
  SCANNERS,
  SHA256_HEX,
  THRESHOLDS,
  type AttachVerdictMode,
  type FailOn,
  type RegistryCredentials,
  type ScannerName,
  type ScanTarget,
  type Threshold,
} from '@dreamscape/scan';

/** Everything action-scan is told, parsed and validated once. */
export interface ScanInputs {
  readonly target: ScanTarget;
  readonly scanner: ScannerName;
  readonly scannerVersion: string;
  readonly scannerDownloadUrl: string | undefined;
  /** The caller's pin of the archive's sha256 (`scanner-sha256`), lower-cased. */
  readonly scannerSha256: string | undefined;
  readonly threshold: Threshold;
  readonly ignoreUnfixed: boolean;
  /** The real path of the waivers file, inside the workspace. */
  readonly waiversFile: string | undefined;
  /** The waivers file as the user wrote it (for messages). */
  readonly waiversInput: string | undefined;
  readonly sarifFile: string;
  readonly reportFile: string;
  readonly category: string;
  /** The Dockerfile relative to the workspace, and its real path. */
  readonly dockerfile: { readonly path: string; readonly file: string } | undefined;
  readonly credentials: RegistryCredentials | undefined;
  readonly githubToken: string | undefined;
  /** Whose comments are ours (`comment-author`); undefined: ask the token (see ADR 0007). */
  readonly commentAuthor: string | undefined;
  readonly summary: boolean;
  readonly failBuild: boolean;
  /** Whether the verdict is attached to the image in its registry (`attach-verdict`). */
  readonly attachVerdict: AttachVerdictMode;
  /** Which findings fail the verdict (`fail-on`). */
  readonly failOn: FailOn;
  /** What runs now, to compare with: an image by digest, or an environment's release history. */
  readonly baseline: BaselineInput | undefined;
  readonly timeoutMs: number;
  readonly workspace: string;
  readonly tempDir: string;
  readonly toolCacheDir: string;
  readonly dbDir: string;
}

/** Where the image that runs now is found. */
export type BaselineInput =
  | { readonly kind: 'image'; readonly image: ScanTarget }
  | {
      readonly kind: 'environment';
      readonly environment: string;
      readonly namespace: string;
      readonly app: string;
      /** Path of the kubeconfig; undefined: kubectl's default. */
      readonly kubeconfig: string | undefined;
    };

const NAMESPACE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const BASELINE_ACCEPTED =
  "the image running now, by digest, in 'baseline-image', or the environment it runs in, in 'baseline-environment' (with 'baseline-namespace')";

const VERSION = /^v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$/;
const CATEGORY = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,199}$/;
/** A GitHub login: a user (`octocat`) or an app's bot (`my-app[bot]`). */
const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$/;

/** Reads and validates every input. Nothing else in the action reads inputs. */
export function readInputs(src: InputSource, env: Readonly<Record<string, string | undefined>>): ScanInputs {
  const workspace = resolve(env.GITHUB_WORKSPACE ?? process.cwd());
  const tempDir = env.RUNNER_TEMP !== undefined && env.RUNNER_TEMP !== '' ? env.RUNNER_TEMP : tmpdir();
  const toolCacheDir =
    env.RUNNER_TOOL_CACHE !== undefined && env.RUNNER_TOOL_CACHE !== ''
      ? env.RUNNER_TOOL_CACHE
      : join(tempDir, 'tool-cache');

  const target = parseScanTarget(readString(src, 'image', { required: true }));
  const scanner = readEnum(src, 'scanner', SCANNERS, 'trivy');
  const driver = SCANNER_DRIVERS[scanner];
  const versionText = readString(src, 'scanner-version');
  let scannerVersion = driver.pinnedVersion;
  if (versionText !== '') {
    const m = VERSION.exec(versionText);
    if (m?.[1] === undefined)
      throw new InputError(
        'scanner-version',
        versionText,
        `a release version such as ${driver.pinnedVersion}`,
      );
    scannerVersion = m[1];
  }
  const downloadText = readString(src, 'scanner-download-url');
  if (downloadText !== '' && !/^https:\/\/[^\s/]+\S*$/i.test(downloadText))
    throw new InputError(
      'scanner-download-url',
      downloadText,
      'an https URL of a release directory, {version} standing for the version (an http(s) URL must use https: a plain http download could be swapped on the way)',
    );
  const shaText = readString(src, 'scanner-sha256').toLowerCase();
  if (shaText !== '' && !SHA256_HEX.test(shaText))
    throw new InputError('scanner-sha256', shaText, "the archive's sha256: 64 hexadecimal digits");
  if (downloadText !== '' && shaText === '')
    throw new InputError(
      'scanner-sha256',
      '',
      `the sha256 of the release archive served by scanner-download-url (${downloadText}): a custom download location is trusted only with a checksum you pin`,
    );

  const threshold = readEnum(src, 'severity-threshold', THRESHOLDS, 'high');
  const ignoreUnfixed = readBoolean(src, 'ignore-unfixed', false);
  const waiversInput = readString(src, 'waivers');
  const waiversFile =
    waiversInput === '' ? undefined : resolveInsideWorkspace(workspace, waiversInput, 'waivers');

  const category = readString(src, 'category', { default: defaultCategory(target) });
  if (!CATEGORY.test(category))
    throw new InputError(
      'category',
      category,
      'up to 200 letters, digits and . _ : / @ -, starting with a letter or digit',
    );
  const slug = category.replace(/[^A-Za-z0-9._-]+/g, '-');
  const outDir = join(tempDir, 'dreamscape-scan', slug);
  // Without RUNNER_TEMP only the workspace: the system's /tmp is shared with everything else.
  const roots = { workspace, runnerTemp: env.RUNNER_TEMP };
  const sarifText = readString(src, 'sarif-file');
  const sarifFile =
    sarifText === '' ? join(outDir, 'results.sarif') : readOutputPath('sarif-file', sarifText, roots);

  const dockerfileText = readString(src, 'dockerfile');
  const dockerfile =
    dockerfileText === ''
      ? undefined
      : {
          path: dockerfileText.replace(/^\.\//, ''),
          file: resolveInsideWorkspace(workspace, dockerfileText, 'dockerfile'),
        };

  const username = readString(src, 'registry-username');
  const password = readString(src, 'registry-password');
  if ((username === '') !== (password === ''))
    throw new InputError(
      username === '' ? 'registry-username' : 'registry-password',
      '',
      'registry-username and registry-password together, or neither',
    );
  const token = readString(src, 'github-token');
  const authorText = readString(src, 'comment-author');
  if (authorText !== '' && !LOGIN.test(authorText))
    throw new InputError(
      'comment-author',
      authorText,
      "a GitHub login, such as 'github-actions[bot]', 'my-app[bot]' or 'octocat'",
    );
  const cacheText = readString(src, 'cache-dir');
  const failOn = readEnum(src, 'fail-on', FAIL_ON, 'threshold');
  const baseline = readBaseline(src, env, workspace);
  if (failOn === 'new' && baseline === undefined)
    throw new InputError('baseline-environment', '', BASELINE_ACCEPTED, {
      reason: "fail-on 'new' judges findings against what runs now, and neither input names it",
    });

  return {
    target,
    scanner,
    scannerVersion,
    scannerDownloadUrl: downloadText === '' ? undefined : downloadText,
    scannerSha256: shaText === '' ? undefined : shaText,
    threshold,
    ignoreUnfixed,
    waiversFile,
    waiversInput: waiversInput === '' ? undefined : waiversInput,
    sarifFile,
    reportFile: join(outDir, 'report.json'),
    category,
    dockerfile,
    credentials: username === '' ? undefined : { username, password },
    githubToken: token === '' ? undefined : token,
    commentAuthor: authorText === '' ? undefined : authorText,
    summary: readBoolean(src, 'summary', true),
    failBuild: readBoolean(src, 'fail-build', true),
    attachVerdict: readEnum(src, 'attach-verdict', ATTACH_VERDICT_MODES, 'auto'),
    failOn,
    baseline,
    timeoutMs: readDuration(src, 'timeout', 15 * 60_000, { minMs: 10_000, maxMs: 6 * 3_600_000 }),
    workspace,
    tempDir,
    toolCacheDir,
    dbDir:
      cacheText === ''
        ? join(toolCacheDir, 'dreamscape-scan', `${scanner}-db`)
        : readOutputPath('cache-dir', cacheText, roots),
  };
}

/** `baseline-image`, or `baseline-environment` with `baseline-namespace`, `baseline-app` and `kubeconfig`. */
function readBaseline(
  src: InputSource,
  env: Readonly<Record<string, string | undefined>>,
  workspace: string,
): BaselineInput | undefined {
  const imageText = readString(src, 'baseline-image');
  const environment = readString(src, 'baseline-environment');
  const namespace = readString(src, 'baseline-namespace');
  const appText = readString(src, 'baseline-app');
  if (imageText !== '' && environment !== '')
    throw new InputError('baseline-image', imageText, BASELINE_ACCEPTED, {
      reason: 'baseline-environment is given too; name the baseline one way',
    });
  if (imageText !== '') return { kind: 'image', image: parseScanTarget(imageText, 'baseline-image') };
  if (environment === '') {
    for (const [name, value] of [
      ['baseline-namespace', namespace],
      ['baseline-app', appText],
    ] as const)
      if (value !== '')
        throw new InputError(name, value, 'a value only with baseline-environment', {
          reason: 'no baseline-environment is given',
        });
    return undefined;
  }
  if (!RELEASE_NAME.test(environment))
    throw new InputError('baseline-environment', environment, RELEASE_NAME_ACCEPTED);
  if (!NAMESPACE.test(namespace))
    throw new InputError(
      'baseline-namespace',
      namespace,
      "the namespace of baseline-environment's release history (the namespace action-deploy released into)",
    );
  const app = appText === '' ? defaultAppName(env) : appText;
  if (!RELEASE_NAME.test(app)) throw new InputError('baseline-app', app, RELEASE_NAME_ACCEPTED);
  return {
    kind: 'environment',
    environment,
    namespace,
    app,
    kubeconfig: readKubeconfig(src, env, workspace),
  };
}

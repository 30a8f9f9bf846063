import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A stand-in `docker` CLI for the buildx paths no test machine here can run (there is no Docker
 * daemon). It answers the way docker 28 with buildx 0.2x answers, from recorded output: `buildx
 * version`, `info`, `buildx inspect` (drivers `docker`, `docker` on the containerd image store, and
 * `docker-container`), `buildx create --bootstrap`, `login`, and `buildx build`, which enforces
 * buildx's own driver checks (a cache export, several platforms or an attestation on the plain
 * `docker` driver fail before anything is built, with buildx's words) and otherwise plays a script:
 * each build fails with the next scripted error, or succeeds and writes `--metadata-file`.
 */

/** The failures buildx prints, as it prints them (the last lines of `--progress=plain`). */
export const BUILDX_FAILURES = {
  /** A registry behind a proxy that answered 502 to the manifest PUT. */
  badGateway: (ref: string, registry: string, repository: string) =>
    pushFailure(
      ref,
      `unexpected status from PUT request to https://${registry}/v2/${repository}/manifests/${tagOf(ref)}: 502 Bad Gateway`,
    ),
  /** The token service of the registry answering 503 while the push authorizes. */
  tokenUnavailable: (ref: string, registry: string, repository: string) =>
    pushFailure(
      ref,
      `failed to authorize: failed to fetch oauth token: unexpected status from GET request to https://${registry}/token?scope=repository%3A${encodeURIComponent(repository)}%3Apull%2Cpush&service=${registry}: 503 Service Unavailable`,
    ),
  /** The connection dropped while a layer was uploaded. */
  connectionReset: (ref: string, registry: string, repository: string) =>
    pushFailure(
      ref,
      `failed to copy: failed to do request: Put "https://${registry}/v2/${repository}/blobs/uploads/5f0c2a7e-3b1d-4c58-9e2f-7a1d3c9b8e41?digest=sha256%3A3c6f1e8b2a4d5f7091b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c": write tcp 172.17.0.2:48736->140.82.112.34:443: write: connection reset by peer`,
    ),
  /** A slow network at the TLS handshake. */
  tlsHandshakeTimeout: (ref: string, registry: string, repository: string) =>
    pushFailure(
      ref,
      `failed to do request: Head "https://${registry}/v2/${repository}/blobs/sha256:3c6f1e8b2a4d5f7091b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c": net/http: TLS handshake timeout`,
    ),
  /** The buildx of docker 20.10 and earlier printed a bare status for a failed push. */
  legacyBadGateway: () =>
    '#12 exporting to image\n#12 pushing layers\n------\n > exporting to image:\n------\nerror: failed to solve: rpc error: code = Unknown desc = unexpected status: 502 Bad Gateway\n',
  /** GHCR refusing a token without `packages: write`. */
  denied: (ref: string) => pushFailure(ref, 'denied: permission_denied: write_package'),
  /** A registry refusing the credentials. */
  unauthorized: (ref: string, registry: string, repository: string) =>
    pushFailure(
      ref,
      `unexpected status from POST request to https://${registry}/v2/${repository}/blobs/uploads/: 401 Unauthorized`,
    ),
  /** A repository that does not exist and is not created on push (ECR). */
  nameUnknown: (ref: string, _registry: string, repository: string) =>
    pushFailure(
      ref,
      `name unknown: The repository with name '${repository}' does not exist in the registry with id '123456789012'`,
    ),
  /** A RUN step that failed: the Dockerfile's error, not the registry's. */
  stepFailed: () =>
    [
      '#9 [build 4/6] RUN npm ci --omit=dev',
      '#9 0.412 npm error code ECONNRESET',
      '#9 0.413 npm error network aborted',
      '#9 ERROR: process "/bin/sh -c npm ci --omit=dev" did not complete successfully: exit code: 1',
      '------',
      ' > [build 4/6] RUN npm ci --omit=dev:',
      '0.412 npm error code ECONNRESET',
      '------',
      'Dockerfile:9',
      '--------------------',
      '   7 |     COPY package.json package-lock.json ./',
      '   8 |     RUN --mount=type=secret,id=npm_token \\',
      '   9 | >>>     npm ci --omit=dev',
      '--------------------',
      'ERROR: failed to build: failed to solve: process "/bin/sh -c npm ci --omit=dev" did not complete successfully: exit code: 1',
      '',
    ].join('\n'),
} as const;

/** A scripted `buildx build`. */
export type StandInBuild =
  | { readonly outcome: 'ok' }
  | { readonly outcome: 'fail'; readonly stderr: string; readonly exitCode?: number };

/** The builder `docker buildx inspect` reports as current. */
export type StandInDriver = 'docker' | 'docker-containerd' | 'docker-container';

/** Configuration of a stand-in `docker`. */
export interface StandInDockerOptions {
  /** What `docker buildx version` prints. Default a buildx 0.29 line. */
  readonly buildxVersion?: string;
  /** The current builder's driver. Default `docker` on the classic image store, as on hosted runners. */
  readonly currentDriver?: StandInDriver;
  /** Builders that already exist besides the current one (a re-run on a self-hosted runner). */
  readonly existingBuilders?: readonly { readonly name: string; readonly driver: StandInDriver }[];
  /** One entry per `buildx build`, in order; the last one repeats. Default: every build succeeds. */
  readonly builds?: readonly StandInBuild[];
  /** What a successful build writes to `--metadata-file`. */
  readonly metadata: string;
}

/** One invocation as the stand-in saw it. */
export interface StandInDockerCall {
  readonly args: readonly string[];
  /** For `buildx create --buildkitd-config FILE`: the file's text when it was read. */
  readonly buildkitdConfig?: string;
  /** What came on stdin (`login --password-stdin`), for checks that it came that way only. */
  readonly stdin?: string;
}

/** A stand-in docker on disk. */
export interface StandInDocker {
  /** Directory holding the executable: put it first on PATH. */
  readonly binDir: string;
  readonly path: string;
  /** Every invocation so far. */
  calls(): StandInDockerCall[];
  /** The `buildx build` invocations so far. */
  builds(): StandInDockerCall[];
}

/** Writes a stand-in `docker` (see the module comment). */
export function writeStandInDocker(options: StandInDockerOptions, dir?: string): StandInDocker {
  const root = dir ?? mkdtempSync(join(tmpdir(), 'ds-stand-in-docker-'));
  const binDir = join(root, 'bin');
  mkdirSync(binDir, { recursive: true });
  const current = options.currentDriver ?? 'docker';
  const config = {
    buildxVersion:
      options.buildxVersion ?? 'github.com/docker/buildx v0.29.1 a8ac3d8d0ba5dd4fa4ecdd2a4c1b1a84b89c5e1f',
    builds: options.builds ?? [{ outcome: 'ok' }],
    metadata: options.metadata,
    log: join(root, 'calls.jsonl'),
    state: join(root, 'state.json'),
  };
  writeFileSync(
    config.state,
    JSON.stringify({
      current: current === 'docker-container' ? 'builder-3f1c2a9b' : 'default',
      builders: {
        default: { driver: current === 'docker-container' ? 'docker' : current, opts: [] },
        ...(current === 'docker-container' ? { 'builder-3f1c2a9b': { driver: current, opts: [] } } : {}),
        ...Object.fromEntries(
          (options.existingBuilders ?? []).map((b) => [b.name, { driver: b.driver, opts: [] }]),
        ),
      },
      buildsDone: 0,
    }),
  );
  writeFileSync(join(root, 'config.json'), JSON.stringify(config));
  writeFileSync(config.log, '');
  const path = join(binDir, 'docker');
  writeFileSync(path, standInScript(process.execPath, join(root, 'config.json')));
  chmodSync(path, 0o755);
  const calls = (): StandInDockerCall[] =>
    readFileSync(config.log, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as StandInDockerCall);
  return {
    binDir,
    path,
    calls,
    builds: () => calls().filter((c) => c.args.includes('build') && c.args[0] === 'buildx'),
  };
}

function tagOf(ref: string): string {
  const at = ref.lastIndexOf(':');
  return at > ref.lastIndexOf('/') ? ref.slice(at + 1) : 'latest';
}

/** The progress lines of a push that failed, then buildx's summary line. */
function pushFailure(ref: string, reason: string): string {
  return [
    '#12 exporting to image',
    '#12 exporting layers 0.2s done',
    '#12 exporting manifest sha256:6d1f4a9c0b8e7d2f3a5c4b6e8d0f1a2c3b4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f done',
    '#12 exporting config sha256:0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b done',
    `#12 naming to ${ref} done`,
    '#12 pushing layers',
    '#12 pushing layers 1.3s done',
    `#12 ERROR: failed to push ${ref}: ${reason}`,
    '------',
    ' > exporting to image:',
    '------',
    `ERROR: failed to build: failed to solve: failed to push ${ref}: ${reason}`,
    '',
  ].join('\n');
}

/** The script itself: plain CommonJS so it runs with any node and no package.json around it. */
function standInScript(node: string, configPath: string): string {
  return `#!${node}
'use strict';
const fs = require('fs');
const cfg = JSON.parse(fs.readFileSync(${JSON.stringify(configPath)}, 'utf8'));
const state = JSON.parse(fs.readFileSync(cfg.state, 'utf8'));
const save = () => fs.writeFileSync(cfg.state, JSON.stringify(state));
let args = process.argv.slice(2);
const record = (extra) => fs.appendFileSync(cfg.log, JSON.stringify({ args, ...extra }) + '\\n');
const out = (text) => process.stdout.write(text);
const err = (text) => process.stderr.write(text);
const fail = (text, code) => { err(text.endsWith('\\n') ? text : text + '\\n'); process.exit(code === undefined ? 1 : code); };
const flag = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const flags = (name) => args.flatMap((a, i) => (a === name ? [args[i + 1]] : a.startsWith(name + '=') ? [a.slice(name.length + 1)] : []));

if (args[0] === 'login') {
  let stdin = '';
  try { stdin = fs.readFileSync(0, 'utf8'); } catch (e) { stdin = ''; }
  record({ stdin });
  out('Login Succeeded\\n');
  process.exit(0);
}
record({});
if (args[0] === 'info') { out('28.0.4\\n'); process.exit(0); }
if (args[0] !== 'buildx') fail('docker: unknown command: docker ' + args[0] + "\\n\\nRun 'docker --help' for more information");
args = args.slice(1);
let chosen = state.current;
if (args[0] === '--builder') { chosen = args[1]; args = args.slice(2); }

const PLATFORMS = 'linux/amd64, linux/amd64/v2, linux/amd64/v3, linux/386';
function inspect(name) {
  const b = state.builders[name];
  if (b === undefined) fail('ERROR: no builder ' + JSON.stringify(name) + ' found');
  const lines = ['Name:          ' + name, 'Driver:        ' + (b.driver === 'docker-containerd' ? 'docker' : b.driver), 'Last Activity: 2026-11-26 08:14:03 +0000 UTC', '', 'Nodes:'];
  if (b.driver === 'docker-container') {
    const opts = b.opts.map((o) => { const [k, v] = o.split('='); return k + '=' + JSON.stringify(v); }).join(' ');
    lines.push('Name:                  ' + name + '0', 'Endpoint:              unix:///var/run/docker.sock');
    if (opts !== '') lines.push('Driver Options:        ' + opts);
    if (!b.booted) { lines.push('Status:                inactive', 'Platforms:'); return lines.join('\\n') + '\\n'; }
    lines.push('Status:                running', 'BuildKit daemon flags: --allow-insecure-entitlement=network.host', 'BuildKit version:      v0.25.1',
      'Platforms:             ' + PLATFORMS + ', linux/arm64, linux/riscv64, linux/ppc64le, linux/s390x, linux/arm/v7, linux/arm/v6',
      'Labels:',
      ' org.mobyproject.buildkit.worker.executor:         oci',
      ' org.mobyproject.buildkit.worker.hostname:         9c1f7e2b4a3d',
      ' org.mobyproject.buildkit.worker.network:          ' + (b.opts.includes('network=host') ? 'host' : 'cni'),
      ' org.mobyproject.buildkit.worker.oci.process-mode: sandbox',
      ' org.mobyproject.buildkit.worker.selinux.enabled:  false',
      ' org.mobyproject.buildkit.worker.snapshotter:      overlayfs');
    if (b.config !== undefined) {
      lines.push('File#buildkitd.toml:');
      for (const l of b.config.split('\\n')) lines.push(' > ' + l);
    }
  } else {
    lines.push('Name:             ' + name, 'Endpoint:         ' + name, 'Status:           running', 'BuildKit version: v0.25.1', 'Platforms:        ' + PLATFORMS, 'Labels:');
    if (b.driver === 'docker-containerd') {
      lines.push(
        ' org.mobyproject.buildkit.worker.containerd.namespace: moby',
        ' org.mobyproject.buildkit.worker.containerd.uuid:      1b0c5d2e-7f3a-4c8b-9e6d-2a4f8c1e3b5d',
        ' org.mobyproject.buildkit.worker.executor:             containerd',
        ' org.mobyproject.buildkit.worker.hostname:             fv-az1270-842',
        ' org.mobyproject.buildkit.worker.moby.host-gateway-ip: 172.17.0.1',
        ' org.mobyproject.buildkit.worker.network:              host',
        ' org.mobyproject.buildkit.worker.selinux.enabled:      false',
        ' org.mobyproject.buildkit.worker.snapshotter:          overlayfs');
    } else {
      lines.push(' org.mobyproject.buildkit.worker.moby.host-gateway-ip: 172.17.0.1');
    }
  }
  lines.push('GC Policy rule#0:', ' All:            false', ' Filters:        type==source.local,type==exec.cachemount,type==source.git.checkout', ' Keep Duration:  48h0m0s', ' Max Used Space: 512MiB');
  return lines.join('\\n') + '\\n';
}

function boot(name) {
  const b = state.builders[name];
  if (b.driver !== 'docker-container' || b.booted) return;
  err('#1 [internal] booting buildkit\\n#1 pulling image moby/buildkit:buildx-stable-1\\n#1 pulling image moby/buildkit:buildx-stable-1 2.9s done\\n#1 creating container buildx_buildkit_' + name + '0\\n#1 creating container buildx_buildkit_' + name + '0 0.6s done\\n#1 DONE 3.5s\\n');
  b.booted = true;
  save();
}

if (args[0] === 'version') { out(cfg.buildxVersion + '\\n'); process.exit(0); }

if (args[0] === 'inspect') {
  const rest = args.slice(1).filter((a) => a !== '--bootstrap');
  const name = rest[0] || chosen;
  if (state.builders[name] === undefined) fail('ERROR: no builder ' + JSON.stringify(name) + ' found');
  if (args.includes('--bootstrap')) boot(name);
  out(inspect(name));
  process.exit(0);
}

if (args[0] === 'create') {
  const name = flag('--name');
  const driver = flag('--driver');
  if (name === undefined || driver === undefined) fail('ERROR: this stand-in needs --name and --driver');
  if (state.builders[name] !== undefined) fail('ERROR: existing instance for ' + JSON.stringify(name) + ' but no append mode, specify the node name to make changes for existing instances');
  const configFile = flag('--buildkitd-config') || flag('--config');
  let config;
  if (configFile !== undefined) {
    try { config = fs.readFileSync(configFile, 'utf8'); } catch (e) { fail('ERROR: failed to read config ' + configFile + ': open ' + configFile + ': no such file or directory'); }
  }
  const lines = fs.readFileSync(cfg.log, 'utf8').trimEnd().split('\\n');
  lines[lines.length - 1] = JSON.stringify({ args: process.argv.slice(2), ...(config === undefined ? {} : { buildkitdConfig: config }) });
  fs.writeFileSync(cfg.log, lines.join('\\n') + '\\n');
  state.builders[name] = { driver, opts: flags('--driver-opt'), ...(config === undefined ? {} : { config }) };
  if (args.includes('--use')) state.current = name;
  save();
  if (args.includes('--bootstrap')) boot(name);
  out(name + '\\n');
  process.exit(0);
}

if (args[0] === 'build') {
  const b = state.builders[chosen];
  if (b === undefined) fail('ERROR: no builder ' + JSON.stringify(chosen) + ' found');
  const plain = b.driver === 'docker';
  const notSupported = (feature, docs) => fail('ERROR: failed to build: ' + feature + ' is not supported for the docker driver.\\nSwitch to a different driver, or turn on the containerd image store, and try again.\\nLearn more at ' + docs);
  err('#0 building with "' + chosen + '" instance using ' + (b.driver === 'docker-containerd' ? 'docker' : b.driver) + ' driver\\n\\n');
  boot(chosen);
  if (plain) {
    if (flags('--cache-to').some((c) => !/(^|,)type=inline(,|$)/.test(c))) notSupported('Cache export', 'https://docs.docker.com/go/build-cache-backends/');
    const attest = args.filter((a) => /^--(provenance|sbom)=/.test(a) && !/=false$/.test(a));
    if (attest.length > 0) notSupported('Attestation', 'https://docs.docker.com/go/attestations/');
    if ((flag('--platform') || '').split(',').filter((p) => p !== '').length > 1) notSupported('Multi-platform build', 'https://docs.docker.com/go/build-multi-platform/');
  }
  const step = cfg.builds[Math.min(state.buildsDone, cfg.builds.length - 1)];
  state.buildsDone += 1;
  save();
  err('#1 [internal] load build definition from Dockerfile\\n#1 transferring dockerfile: 1.21kB done\\n#1 DONE 0.0s\\n\\n');
  if (step.outcome === 'fail') fail(step.stderr, step.exitCode);
  const metadataFile = flag('--metadata-file');
  if (metadataFile !== undefined) fs.writeFileSync(metadataFile, cfg.metadata);
  err('#12 exporting to image\\n#12 exporting layers 0.2s done\\n#12 pushing layers 1.1s done\\n#12 DONE 1.6s\\n');
  process.exit(0);
}

fail('stand-in docker: unexpected arguments ' + JSON.stringify(process.argv.slice(2)), 2);
`;
}

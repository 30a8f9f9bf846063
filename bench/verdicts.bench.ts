/**
 * What `require-scan` adds to a deploy of 50 images: reading and judging each image's newest scan
 * verdict, on top of what a deploy already asks of the registry before it writes anything (each
 * image is still there, `checkImagesExist`).
 *
 * Setup, all on 127.0.0.1: the Debian docker-registry (distribution 2.8) with htpasswd auth, 50
 * small images in 50 repositories (a deploy of 50 services), each named by digest, and one passing
 * verdict attached to each the way action-scan attaches it (`buildVerdict`, `attachScanVerdict`,
 * `registryReferrers`). Registry 2.8 has no referrers API, so every read goes through the referrers
 * tag schema, as it would against such a registry in production.
 *
 * - without: `checkImagesExist` on the 50 images;
 * - with: the same, then `requireScannedImages` over `registryReferrers` of a new `RegistryClient`,
 *   as action-rollback and action-deploy call them.
 *
 * Every run builds its clients afresh, so logins are paid each time (Node's fetch still pools its
 * loopback sockets across runs, as it would across the calls of one deploy). One warm-up of each,
 * then BENCH_ROUNDS rounds (default 7) that alternate which variant goes first; the figures are the
 * medians. Fails when the median of `with` exceeds that of `without` by 0.5 s or more.
 *
 *   npm run bench:verdicts
 *
 * Last line: `verdicts: images=50 added_s=<s> ratio=<with/without>`.
 */
import {
  FetchHttpClient,
  MemoryLogger,
  systemClock,
  type HttpClient,
  type HttpRequest,
  type HttpResponse,
} from '@dreamscape/core';
import { checkImagesExist, loginsForImages, RegistryClient, registryReferrers } from '@dreamscape/image';
import {
  attachScanVerdict,
  buildVerdict,
  evaluatePolicy,
  requireScannedImages,
  SCANNERS,
  type ScanRequirement,
} from '@dreamscape/scan';
import { pushTestImage, startRegistry, type RunningRegistry } from '@dreamscape/testkit';

const IMAGES = 50;
const ROUNDS = Math.max(1, Number(process.env['BENCH_ROUNDS'] ?? 7));
/** The most `require-scan` may add to a deploy of {@link IMAGES} images, in seconds. */
const TARGET_S = 0.5;
const CREDENTIALS = { username: 'deployer', password: 'bench-verdicts-9c41' };
/** `require-scan: true` with the default scan-max-age and scan-scanners, and scan-threshold high. */
const REQUIREMENT: ScanRequirement = {
  maxAgeMs: 7 * 24 * 3_600_000,
  scanners: [...SCANNERS],
  threshold: 'high',
};
/** Setup pushes and attaches this many at a time. */
const SETUP_CONCURRENCY = 8;

type Variant = 'without' | 'with';

/** An {@link HttpClient} that counts the requests it sends, to show what each variant costs in requests. */
class CountingHttpClient implements HttpClient {
  requests = 0;
  private readonly inner = new FetchHttpClient();

  request(request: HttpRequest): Promise<HttpResponse> {
    this.requests++;
    return this.inner.request(request);
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

async function inBatches<T, R>(items: readonly T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += size)
    results.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return results;
}

/** Pushes the images and attaches a passing verdict to each; returns them by digest. */
async function prepare(registry: RunningRegistry): Promise<string[]> {
  const names = Array.from({ length: IMAGES }, (_, i) => `bench/service-${String(i + 1).padStart(2, '0')}`);
  const images = await inBatches(names, SETUP_CONCURRENCY, async (repository) => {
    const pushed = await pushTestImage(registry, repository, 'v1', {
      credentials: CREDENTIALS,
      content: `${repository} build 1\n`,
    });
    return `${registry.host}/${repository}@${pushed.digest}`;
  });
  if (new Set(images.map((i) => i.slice(i.indexOf('@')))).size !== IMAGES)
    throw new Error('the pushed images do not have distinct digests');
  console.log(`pushed ${IMAGES} images to ${registry.host} (htpasswd auth)`);

  const logger = new MemoryLogger();
  const client = new RegistryClient({
    http: new FetchHttpClient(),
    logger,
    logins: loginsForImages(images, CREDENTIALS),
  });
  // An empty scan judged at threshold high: a passing verdict, as action-scan makes it.
  const policy = evaluatePolicy([], {
    threshold: 'high',
    ignoreUnfixed: false,
    waivers: [],
    now: systemClock.now(),
  });
  await inBatches(images, SETUP_CONCURRENCY, async (image) => {
    const attachment = await attachScanVerdict({
      store: () => registryReferrers(client, { logger }),
      verdict: buildVerdict({
        image,
        report: { scanner: 'trivy', scannerVersion: '0.74.0', artifact: image, matchCount: 0, findings: [] },
        policy,
        failOn: 'fail-build',
        clock: systemClock,
      }),
      mode: 'true',
      registry: registry.host,
      logger,
    });
    if (!attachment.attached) throw new Error(`no verdict was attached to ${image}: ${attachment.reason}`);
  });
  console.log(`attached a passing verdict to each of the ${IMAGES} images (referrers tag schema)`);
  return images;
}

/** One run of a variant with fresh clients; seconds and requests sent. Throws unless every image passed. */
async function runVariant(
  variant: Variant,
  images: readonly string[],
): Promise<{ seconds: number; requests: number }> {
  const logger = new MemoryLogger();
  const http = new CountingHttpClient();
  const logins = loginsForImages(images, CREDENTIALS);
  const started = performance.now();
  await checkImagesExist({ images, logger, logins, revision: 1, http });
  if (variant === 'with')
    await requireScannedImages(
      images,
      registryReferrers(new RegistryClient({ http, logger, logins }), { logger }),
      REQUIREMENT,
      { now: Date.now(), logger },
    );
  const seconds = (performance.now() - started) / 1000;
  // checkImagesExist only warns when it cannot reach a registry: a run that did not check is no run.
  const problems = logger.entries.filter((e) => e.level === 'warning' || e.level === 'error');
  if (problems.length > 0) throw new Error(`${variant}: ${problems.map((p) => p.message).join('\n')}`);
  const text = logger.text();
  if (!text.includes(`All ${IMAGES} images of revision 1 are in their registries.`))
    throw new Error(`${variant}: the images were not all found:\n${text}`);
  if (variant === 'with' && !text.includes(`require-scan: all ${IMAGES} images have a passing verdict.`))
    throw new Error(`with: not every verdict was accepted:\n${text}`);
  return { seconds, requests: http.requests };
}

interface Measured {
  readonly times: Record<Variant, number[]>;
  readonly requests: Record<Variant, number>;
}

async function measure(registry: RunningRegistry): Promise<Measured> {
  const images = await prepare(registry);
  const requests: Record<Variant, number> = { without: 0, with: 0 };
  for (const variant of ['without', 'with'] as const) {
    const run = await runVariant(variant, images);
    requests[variant] = run.requests;
    console.log(`warm-up ${variant}: ${run.seconds.toFixed(3)} s, ${run.requests} requests`);
  }
  const times: Record<Variant, number[]> = { without: [], with: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    const order: readonly Variant[] = round % 2 === 1 ? ['without', 'with'] : ['with', 'without'];
    const line: string[] = [];
    for (const variant of order) {
      const run = await runVariant(variant, images);
      times[variant].push(run.seconds);
      line.push(`${variant} ${run.seconds.toFixed(3)} s`);
    }
    console.log(`round ${round}/${ROUNDS}: ${line.join(', ')}`);
  }
  return { times, requests };
}

const registry = await startRegistry({
  auth: { mode: 'htpasswd', users: { [CREDENTIALS.username]: CREDENTIALS.password } },
});
let measured: Measured;
try {
  measured = await measure(registry);
} catch (error) {
  console.error(`registry log:\n${registry.log()}`);
  throw error;
} finally {
  await registry.close();
}

const without = median(measured.times.without);
const withScan = median(measured.times.with);
const added = withScan - without;
const row = (variant: Variant, m: number): string => {
  const t = measured.times[variant];
  return `| ${variant.padEnd(7)} | ${m.toFixed(3).padStart(8)} | ${Math.min(...t)
    .toFixed(3)
    .padStart(5)} | ${Math.max(...t)
    .toFixed(3)
    .padStart(5)} | ${String(measured.requests[variant]).padStart(8)} |`;
};
console.log('');
console.log(`${IMAGES} images, ${ROUNDS} rounds (seconds)`);
console.log('| variant | median s | min   | max   | requests |');
console.log('|---------|----------|-------|-------|----------|');
console.log(row('without', without));
console.log(row('with', withScan));
console.log(`require-scan adds ${added.toFixed(3)} s (target: under ${TARGET_S} s)`);
console.log(
  `verdicts: images=${IMAGES} added_s=${added.toFixed(3)} ratio=${(withScan / without).toFixed(2)}`,
);
if (added >= TARGET_S) process.exitCode = 1;

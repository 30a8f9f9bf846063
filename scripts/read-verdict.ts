// Prints the newest scan verdict attached to an image, read from its registry:
//   node --import ./scripts/ts-register.mjs scripts/read-verdict.ts <registry/repository@sha256:...>
// Credentials come from DS_USERNAME and DS_PASSWORD, the scheme from DS_SCHEME (http or https;
// without it, https first and plain http only for a loopback registry that does not speak TLS; an
// https registry with its own CA is trusted through NODE_EXTRA_CA_CERTS). Prints
// `{"referrer":...,"verdict":...}`, or `{"none":true}` when the image has no verdict.
import { FetchHttpClient, MemoryLogger } from '@dreamscape/core';
import { RegistryClient, parseReference, registryReferrers } from '@dreamscape/image';
import { readNewestVerdict } from '@dreamscape/scan';

const image = process.argv[2] ?? '';
const ref = parseReference(image);
const username = process.env.DS_USERNAME;
const password = process.env.DS_PASSWORD;
const scheme = process.env.DS_SCHEME;
const client = new RegistryClient({
  http: new FetchHttpClient(),
  logger: new MemoryLogger(),
  ...(scheme === 'http' || scheme === 'https' ? { scheme } : {}),
  logins:
    username === undefined || password === undefined ? [] : [{ registry: ref.registry, username, password }],
});
const found = await readNewestVerdict(registryReferrers(client), image);
process.stdout.write(`${JSON.stringify(found ?? { none: true })}\n`);

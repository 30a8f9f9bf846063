import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ActionError } from '@dreamscape/core';
import { pullOciChart } from '../src/chart-registry.js';
import { resolveChartSource, type OciChart } from '../src/chart-source.js';
import { HelmCli } from '../src/helm-cli.js';
import { FakeRunner } from './support/fake-runner.js';

const PASSWORD = 'registry-password-0c41';

function oci(reference: string): OciChart {
  const chart = resolveChartSource(reference, tmpdir());
  if (chart.kind !== 'oci') throw new Error('not oci');
  return chart;
}

async function pullFailure(reference: string, stderr: string, credentials = false): Promise<ActionError> {
  const home = mkdtempSync(join(tmpdir(), 'chart-registry-'));
  const runner = new FakeRunner([...(credentials ? [{}] : []), { exitCode: 1, stderr }]);
  try {
    await pullOciChart({
      cli: new HelmCli({ tool: '/opt/helm', runner, home, secrets: [PASSWORD] }),
      chart: oci(reference),
      version: '1.0.0',
      credentials: credentials ? { username: 'bot', password: PASSWORD } : undefined,
      destination: join(home, 'pulled'),
    });
  } catch (error) {
    if (error instanceof ActionError) return error;
    throw error;
  }
  throw new Error('expected the pull to fail');
}

describe('pullOciChart', () => {
  it.each([
    ['Error: failed to authorize: 403 Forbidden', 'denied access to the chart'],
    [
      'Error: ghcr.io/acme/web:1.0.0: not found',
      'has no chart oci://ghcr.io/acme/web at that version (not found)',
    ],
    [
      'Error: tls: failed to verify certificate: x509: certificate signed by unknown authority',
      'SSL_CERT_FILE',
    ],
    ['Error: dial tcp: lookup ghcr.io: no such host', 'is reachable from the runner'],
  ])('names the registry and what to do when helm says %j', async (stderr, hint) => {
    const error = await pullFailure('oci://ghcr.io/acme/web', stderr, true);
    expect(error.message).toBe(
      `Pulling the chart oci://ghcr.io/acme/web version 1.0.0 from the registry ghcr.io failed: ${stderr}`,
    );
    expect(error.hint).toContain(hint);
  });

  it('redacts the password if helm ever prints it', async () => {
    const error = await pullFailure('oci://ghcr.io/acme/web', `Error: denied for bot:${PASSWORD}`, true);
    expect(error.message).not.toContain(PASSWORD);
    expect(error.message).toContain('bot:***');
  });
});

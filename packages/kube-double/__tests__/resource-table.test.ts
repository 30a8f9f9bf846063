import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startKubeDouble, type KubeDouble } from '../src/index.js';
import { KIND_CASES, KINDS_NAMESPACE, type KindCase } from './support/kinds.js';
import { failed, kubectlFor, namespace, ok, yaml, type Kubectl } from './support/manifests.js';

// Conformance for every kind real applications ship beyond Deployments and Services: the pinned
// kubectl, default flags (fieldValidation=Strict), against the double: dry run, apply, a second
// apply that changes nothing, diff, the table `get` prints, create of an existing one, delete.

let double: KubeDouble;
let k: Kubectl;

beforeAll(async () => {
  double = await startKubeDouble({ timeScale: 20 });
  k = kubectlFor(double);
  ok(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(namespace(KINDS_NAMESPACE)) }));
});

afterAll(async () => {
  expect(double.errors()).toEqual([]);
  await double.close();
});

function scope(c: KindCase): string[] {
  return c.namespaced ? ['-n', KINDS_NAMESPACE] : [];
}

/** The client writes of one object, in order. */
function writesOf(c: KindCase): { verb: string; dryRun: boolean; changed: boolean; status: number }[] {
  return double
    .writes()
    .filter((w) => w.kind === c.kind && w.name === c.name && w.subresource === undefined)
    .map((w) => ({ verb: w.verb, dryRun: w.dryRun, changed: w.changed, status: w.status }));
}

describe.each(KIND_CASES)('$kind', (c) => {
  it('applies server-side: a dry run stores nothing, a second apply changes nothing', async () => {
    const manifest = yaml(c.manifest);
    expect(
      ok(await k(['apply', '--server-side', '--dry-run=server', '-f', '-'], { stdin: manifest })),
    ).toContain(`${c.printed} serverside-applied (server dry run)`);
    expect(failed(await k(['get', c.resource, c.name, ...scope(c)]))).toContain('(NotFound)');

    expect(ok(await k(['apply', '--server-side', '-f', '-'], { stdin: manifest }))).toContain(
      `${c.printed} serverside-applied`,
    );
    expect(ok(await k(['apply', '--server-side', '-f', '-'], { stdin: manifest }))).toContain(
      `${c.printed} serverside-applied`,
    );
    expect(writesOf(c)).toEqual([
      { verb: 'apply', dryRun: true, changed: false, status: 201 },
      { verb: 'apply', dryRun: false, changed: true, status: 201 },
      { verb: 'apply', dryRun: false, changed: false, status: 200 },
    ]);
  });

  it('diffs: nothing against the applied manifest, a difference against a changed one', async () => {
    const same = await k(['diff', '--server-side', '-f', '-'], { stdin: yaml(c.manifest) });
    expect([same.exitCode, same.stdout]).toEqual([0, '']);
    const changed = await k(['diff', '--server-side', '-f', '-'], { stdin: yaml(c.changed) });
    expect(changed.exitCode).toBe(1);
    expect(changed.stdout).toMatch(/^\+[^+]/m);
    expect(
      writesOf(c)
        .slice(-2)
        .every((w) => w.dryRun && !w.changed),
    ).toBe(true);
  });

  it('prints the columns of a real cluster', async () => {
    const header = ok(await k(['get', c.resource, c.name, ...scope(c)])).split('\n')[0] ?? '';
    expect(header.trim().split(/\s{2,}/)).toEqual(c.columns);
  });

  it('refuses a second create, then deletes', async () => {
    expect(failed(await k(['create', '-f', '-'], { stdin: yaml(c.manifest) }))).toContain(
      `Error from server (AlreadyExists): error when creating "STDIN"`,
    );
    expect(ok(await k(['delete', c.resource, c.name, ...scope(c)]))).toContain(`"${c.name}" deleted`);
    expect(failed(await k(['get', c.resource, c.name, ...scope(c)]))).toContain('(NotFound)');
  });
});

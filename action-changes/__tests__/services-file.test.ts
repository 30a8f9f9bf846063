import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseServicesFile } from '../src/services-file.js';
import { projectRoot } from './support/git-repo.js';

const examplePath = 'examples/dreamscape/services.json';
const exampleText = readFileSync(join(projectRoot, examplePath), 'utf8');

describe('parseServicesFile', () => {
  it('reads the DreamScape example with paths relative to the repository root', () => {
    const services = parseServicesFile(exampleText, { path: examplePath });
    expect(services.map((s) => s.name)).toEqual([
      'gateway',
      'auth',
      'user',
      'voyage',
      'payment',
      'ai',
      'panorama',
    ]);
    const auth = services.find((s) => s.name === 'auth');
    expect(auth).toMatchObject({
      context: 'examples/dreamscape/services/auth',
      dockerfile: 'examples/dreamscape/services/auth/Dockerfile',
      target: 'runtime',
      image: 'ghcr.io/dreamscape/auth',
      paths: [],
    });
  });

  it('keeps paths as they are for a file at the repository root', () => {
    const [svc] = parseServicesFile(JSON.stringify({ services: [{ name: 'api', context: './api/' }] }), {
      path: 'services.json',
      owner: 'Acme',
    });
    expect(svc).toMatchObject({
      context: 'api',
      dockerfile: 'api/Dockerfile',
      target: '',
      image: 'ghcr.io/acme/api',
    });
  });

  it('derives images from the registry, and reads YAML and extra paths', () => {
    const yaml = [
      'registry: registry.example.com/team/',
      'services:',
      '  - name: web',
      '    context: .',
      '    dockerfile: docker/web.Dockerfile',
      '    paths: ["../libs/ui/**", "package-lock.json"]',
    ].join('\n');
    const [web] = parseServicesFile(yaml, { path: 'deploy/services.yaml' });
    expect(web?.image).toBe('registry.example.com/team/web');
    expect(web?.context).toBe('deploy');
    expect(web?.dockerfile).toBe('deploy/docker/web.Dockerfile');
    expect(web?.paths.map((p) => p.source)).toEqual(['libs/ui/**', 'deploy/package-lock.json']);
    expect(web?.paths[0]?.matches('libs/ui/button.tsx')).toBe(true);
  });

  it.each([
    ['not: [valid', /not valid JSON or YAML/],
    ['[]', /must hold an object with a 'services' list/],
    ['{"services": []}', /lists no services/],
    ['{"services": ["api"]}', /services\[0\] must be an object/],
    [
      '{"services": [{"name": "API", "context": "api"}]}',
      /services\[0\]\.name "API" is not a valid service name/,
    ],
    ['{"services": [{"name": "api"}]}', /service 'api' has no 'context'/],
    [
      '{"services": [{"name": "api", "context": "a"}, {"name": "api", "context": "b"}]}',
      /'api' is defined twice/,
    ],
    ['{"services": [{"name": "api", "context": "../../etc"}]}', /leads outside the repository/],
    ['{"services": [{"name": "api", "context": "/srv/api"}]}', /must be relative to the services file/],
    [
      '{"services": [{"name": "api", "context": "api", "port": 8080, "target": 3}]}',
      /'target' must be a string/,
    ],
    ['{"services": [{"name": "api", "context": "api", "paths": "libs"}]}', /must be a list of path patterns/],
    ['{"services": [{"name": "api", "context": "api", "paths": ["{a,b}"]}]}', /not supported/],
  ])('refuses %s', (text, message) => {
    expect(() => parseServicesFile(text, { path: 'x/services.json', owner: 'acme' })).toThrow(message);
  });

  it('needs an image, a registry or an owner to name the image', () => {
    expect(() =>
      parseServicesFile('{"services": [{"name": "api", "context": "api"}]}', { path: 's.json' }),
    ).toThrow("s.json: service 'api' has no 'image', and the file has no 'registry' to derive one from.");
  });

  it('names the file in its errors', () => {
    expect(() => parseServicesFile('{"services": [{"name": "api"}]}', { path: 'ops/services.json' })).toThrow(
      "ops/services.json: service 'api' has no 'context'",
    );
  });

  // Expanded, the bomb is 9^9 values: a reader without the limit does not finish within the
  // test's timeout. Refused at the limit, it takes milliseconds.
  it('refuses an alias bomb, naming the input, the file and the limit', () => {
    const lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
    for (let i = 1; i < 9; i++)
      lines.push(
        `l${i}: &l${i} [${Array<string>(9)
          .fill(`*l${i - 1}`)
          .join(', ')}]`,
      );
    const bomb = `${lines.join('\n')}\nservices: [{name: api, context: api, paths: *l8}]`;
    expect(() => parseServicesFile(bomb, { path: 'ops/services.yaml', owner: 'acme' })).toThrow(
      /^Input 'services-file': the services file ops\/services\.yaml: too many values: more than the limit of 100000 with aliases expanded$/,
    );
  }, 10_000);

  it('refuses nesting beyond 32 levels and a file beyond 1 MiB, naming the input', () => {
    const deep = `{"services": [{"name": "api", "context": "api", "x": ${'['.repeat(40)}${']'.repeat(40)}}]}`;
    expect(() => parseServicesFile(deep, { path: 's.json', owner: 'acme' })).toThrow(
      /^Input 'services-file': the services file s\.json: nested too deeply: more than the limit of 32 levels/,
    );
    const huge = JSON.stringify({
      services: [{ name: 'api', context: 'api', notes: 'x'.repeat(1024 * 1024) }],
    });
    expect(() => parseServicesFile(huge, { path: 's.json', owner: 'acme' })).toThrow(
      "Input 'services-file': the services file s.json: too large: 1048632 bytes, more than the limit of 1 MiB",
    );
  });

  it('shows a bounded preview of a value of the wrong type', () => {
    const text = JSON.stringify({
      services: [{ name: 'api', context: 'api', target: Array<number>(5000).fill(1) }],
    });
    let message = '';
    try {
      parseServicesFile(text, { path: 's.json', owner: 'acme' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^s\.json: service 'api': 'target' must be a string, got \[1,1,.*…\.$/);
    expect(message.length).toBeLessThan(200);
  });
});

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
});

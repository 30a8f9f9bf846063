import { describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError, MemoryLogger } from '@dreamscape/core';
import { materializeSecrets, parseSecretSpec } from '../src/builders/build-secrets.js';

describe('parseSecretSpec', () => {
  it.each([
    ['id=npm_token,src=/run/secrets/npm', { id: 'npm_token', file: '/run/secrets/npm' }],
    ['id=npm_token,source=/run/secrets/npm', { id: 'npm_token', file: '/run/secrets/npm' }],
    ['type=file,id=gpg.key,src=./keys/gpg', { id: 'gpg.key', file: './keys/gpg' }],
    ['id=gh,env=GH_TOKEN', { id: 'gh', env: 'GH_TOKEN' }],
    [' id = gh , type = env , env = GH_TOKEN ', { id: 'gh', env: 'GH_TOKEN' }],
  ])('reads %s', (text, expected) => {
    expect(parseSecretSpec(text)).toEqual(expected);
  });

  it.each([
    ['npm_token=/path', 'it has no id (for a file, write id=npm_token,src=/path)'],
    ['id=a,/path/to/file', "'/path/to/file' is not key=value"],
    ['src=/path', 'it has no id'],
    ['id=,src=/path', 'it has no id'],
    ['id=npm token,src=/path', "the id 'npm token' may hold only letters"],
    ['id=a,src=/p,env=B', 'give exactly one of src= or env='],
    ['id=a', 'give exactly one of src= or env='],
    ['id=a,src=/p,id=b', "'id' is given twice"],
    ['id=a,src=/p,required=true', "unknown key 'required'"],
    ['id=a,type=env,src=/p', 'a file secret needs a path and type=file'],
    ['id=a,type=file,env=X', 'an env secret needs a variable name and type=env'],
    ['id=a,src=', 'a file secret needs a path'],
  ])('refuses %s', (text, reason) => {
    let error: unknown;
    try {
      parseSecretSpec(text, 'secret-files');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).input).toBe('secret-files');
    expect((error as InputError).message).toContain(reason);
    expect((error as InputError).message).toContain('Accepted: `id=NAME,src=PATH` or `id=NAME,env=VARIABLE`');
  });
});

describe('materializeSecrets', () => {
  it('writes value secrets to 0600 files in a private folder, passes files and env through, and cleans up', async () => {
    const tempDir = mkdtempSync(join(tmpdir(), 'ds-secrets-'));
    const file = join(tempDir, 'given-file');
    writeFileSync(file, 'from a file');
    const logger = new MemoryLogger();
    const secrets = await materializeSecrets(
      [
        { id: 'npm_token', value: 'npm_abcdef123456' },
        { id: 'cert', file },
        { id: 'gh', env: 'GH_TOKEN' },
      ],
      { tempDir, logger },
    );
    const [valueSpec, fileSpec, envSpec] = secrets.specs;
    const written = /^id=npm_token,src=(.+)$/.exec(valueSpec ?? '')?.[1] ?? '';
    expect(readFileSync(written, 'utf8')).toBe('npm_abcdef123456');
    expect(statSync(written).mode & 0o777).toBe(0o600);
    expect(statSync(join(written, '..')).mode & 0o777).toBe(0o700);
    expect(fileSpec).toBe(`id=cert,src=${file}`);
    expect(envSpec).toBe('id=gh,env=GH_TOKEN');
    expect(logger.masker.redact('token npm_abcdef123456')).toBe('token ***');

    await secrets.cleanup();
    await secrets.cleanup();
    expect(existsSync(written)).toBe(false);
    expect(readdirSync(tempDir)).toEqual(['given-file']);
  });

  it('writes nothing when no secret is given by value', async () => {
    const tempDir = mkdtempSync(join(tmpdir(), 'ds-secrets-'));
    const secrets = await materializeSecrets([{ id: 'gh', env: 'GH_TOKEN' }], {
      tempDir,
      logger: new MemoryLogger(),
    });
    expect(readdirSync(tempDir)).toEqual([]);
    await secrets.cleanup();
  });

  it('refuses bad ids, duplicates and missing files before writing anything', async () => {
    const tempDir = mkdtempSync(join(tmpdir(), 'ds-secrets-'));
    const options = { tempDir, logger: new MemoryLogger() };
    await expect(materializeSecrets([{ id: '../x', value: 'v' }], options)).rejects.toThrow(
      "The build secret id '../x' is invalid",
    );
    await expect(
      materializeSecrets(
        [
          { id: 'a', value: 'v' },
          { id: 'a', value: 'w' },
        ],
        options,
      ),
    ).rejects.toThrow("The build secret 'a' is given twice.");
    await expect(
      materializeSecrets(
        [
          { id: 'a', value: 'v' },
          { id: 'b', file: join(tempDir, 'missing') },
        ],
        options,
      ),
    ).rejects.toThrow(`The file for build secret 'b' does not exist: ${join(tempDir, 'missing')}.`);
    await expect(materializeSecrets([{ id: 'b', file: tempDir }], options)).rejects.toThrow(
      `The file for build secret 'b' does not exist: ${tempDir}.`,
    );
    expect(readdirSync(tempDir)).toEqual([]);
  });
});

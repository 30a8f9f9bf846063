import { describe, expect, it } from '@jest/globals';
import { MemoryLogger } from '@dreamscape/core';
import {
  formatReference,
  ghcrImageFor,
  ImageReferenceError,
  isGhcr,
  normalizeGhcrReference,
} from '../src/index.js';

function normalize(text: string): { ref: string; notices: string[] } {
  const logger = new MemoryLogger();
  const ref = formatReference(normalizeGhcrReference(text, logger));
  return { ref, notices: logger.entries.filter((e) => e.level === 'notice').map((e) => e.message) };
}

function reasonOf(text: string): string {
  try {
    normalizeGhcrReference(text, new MemoryLogger());
  } catch (error) {
    expect(error).toBeInstanceOf(ImageReferenceError);
    return (error as ImageReferenceError).reason;
  }
  throw new Error(`${text} was accepted`);
}

describe('GHCR rules', () => {
  it('lowercases the owner and image with a notice, keeping the tag as written', () => {
    expect(normalize('ghcr.io/DreamScape-Labs/Voyage-API:Feature-X')).toEqual({
      ref: 'ghcr.io/dreamscape-labs/voyage-api:Feature-X',
      notices: [
        "Image name 'ghcr.io/DreamScape-Labs/Voyage-API' lowercased to 'ghcr.io/dreamscape-labs/voyage-api': GHCR accepts lowercase repository names only.",
      ],
    });
  });

  it('says nothing when the name is already lowercase', () => {
    expect(normalize('ghcr.io/octo-org/platform/voyage:1.0')).toEqual({
      ref: 'ghcr.io/octo-org/platform/voyage:1.0',
      notices: [],
    });
  });

  it('keeps a digest', () => {
    const digest = `sha256:${'ab'.repeat(32)}`;
    expect(normalize(`ghcr.io/Octo/App@${digest}`).ref).toBe(`ghcr.io/octo/app@${digest}`);
  });

  it.each([
    ['ghcr.io/owner', "no image name after the owner 'owner'"],
    ['ghcr.io/owner/', "no image name after the owner 'owner'"],
    ['ghcr.io/', 'the owner is missing after ghcr.io/'],
    ['ghcr.io/Octo Org/app', 'it contains whitespace'],
    ['ghcr.io/octo/my app', 'it contains whitespace'],
    [
      'ghcr.io/octo/a..b',
      "the path component 'a..b' has the separator sequence '..' (only '.', '_', '__' or dashes join words)",
    ],
    ['ghcr.io/octo/app-', "the path component 'app-' ends with a separator"],
    ['ghcr.io/-octo/app', "the owner '-octo' is not a GitHub user or organisation name"],
    ['ghcr.io/octo--org/app', "the owner 'octo--org' is not a GitHub user or organisation name"],
    ['ghcr.io/octo_org/app', "the owner 'octo_org' is not a GitHub user or organisation name"],
    [
      `ghcr.io/${'a'.repeat(40)}/app`,
      `the owner '${'a'.repeat(40)}' is not a GitHub user or organisation name`,
    ],
  ])('refuses %j: %s', (text, reason) => {
    expect(reasonOf(text)).toBe(reason);
  });

  it('names the input in the error', () => {
    expect(() => normalizeGhcrReference('ghcr.io/owner', new MemoryLogger(), { input: 'images' })).toThrow(
      `Input 'images' has an invalid image reference "ghcr.io/owner": no image name after the owner 'owner'. Accepted: ghcr.io/OWNER/IMAGE, e.g. ghcr.io/octo-org/app.`,
    );
  });

  it('leaves other registries to the general rules', () => {
    const logger = new MemoryLogger();
    expect(formatReference(normalizeGhcrReference('127.0.0.1:5000/app', logger))).toBe(
      '127.0.0.1:5000/app:latest',
    );
    expect(() => normalizeGhcrReference('docker.io/Octo/app', logger)).toThrow(
      /'Octo' has uppercase letters/,
    );
    expect(logger.entries).toEqual([]);
  });

  it('derives the image of a repository from GITHUB_REPOSITORY', () => {
    const logger = new MemoryLogger();
    expect(ghcrImageFor('DreamScape-Labs/Platform', logger)).toBe('ghcr.io/dreamscape-labs/platform');
    expect(ghcrImageFor('DreamScape-Labs/Platform', logger, 'platform/Voyage')).toBe(
      'ghcr.io/dreamscape-labs/platform/voyage',
    );
    expect(logger.entries.map((e) => e.level)).toEqual(['notice', 'notice']);
  });

  it('recognises GHCR', () => {
    expect(isGhcr('ghcr.io')).toBe(true);
    expect(isGhcr('GHCR.io')).toBe(true);
    expect(isGhcr('docker.io')).toBe(false);
  });
});

import { describe, expect, it } from '@jest/globals';
import { InputError } from '@dreamscape/core';
import { checkImageOrigins, defaultImageOrigins, parseImagesInput } from '../src/images-input.js';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;

function refusal(text: string): InputError {
  try {
    parseImagesInput(text);
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error('expected an InputError');
}

describe('parseImagesInput', () => {
  it('reads name=ref lines and build records keyed by service', () => {
    expect(parseImagesInput(`web=ghcr.io/acme/web@${A}`)).toEqual([
      { name: 'web', newName: 'ghcr.io/acme/web', digest: A },
    ]);
    const records = JSON.stringify({
      web: { image: `ghcr.io/acme/web@${A}`, digest: A, tags: [], labels: {} },
      api: { image: `ghcr.io/acme/api@${B}`, digest: B },
    });
    expect(parseImagesInput(records)).toEqual([
      { name: 'ghcr.io/acme/web', digest: A },
      { name: 'ghcr.io/acme/api', digest: B },
    ]);
  });

  it("refuses a build record whose digest disagrees with its image's, naming the input and the service", () => {
    const records = JSON.stringify({
      web: { image: `ghcr.io/acme/web@${A}`, digest: A },
      api: { image: `ghcr.io/acme/api@${A}`, digest: B },
    });
    const e = refusal(records);
    expect(e.input).toBe('images');
    expect(e.message).toContain(
      `: the build record of 'api' has the digest "${B}", but its image is pinned to ${A}; they must agree`,
    );
    // An array of records, and one record alone, name the record by its image.
    expect(refusal(JSON.stringify([{ image: `ghcr.io/acme/api@${A}`, digest: B }])).message).toContain(
      `the build record of 'ghcr.io/acme/api@${A}' has the digest`,
    );
    expect(refusal(`{"image": "ghcr.io/acme/api@${A}", "digest": null}`).message).toContain(
      'has the digest null, but its image is pinned to',
    );
  });

  it('refuses a reference with both a tag and a digest instead of dropping the tag silently', () => {
    const line = refusal(`web=ghcr.io/acme/web:1.2.3@${A}`);
    expect(line.message).toContain(
      `ghcr.io/acme/web:1.2.3@${A} has both a tag (1.2.3) and a digest: a deploy pins the digest only`,
    );
    const record = refusal(JSON.stringify({ web: { image: `ghcr.io/acme/web:1.2.3@${A}`, digest: A } }));
    expect(record.input).toBe('images');
    expect(record.message).toContain('has both a tag (1.2.3) and a digest');
  });

  it('keeps a registry port, which is not a tag', () => {
    expect(parseImagesInput(`app=127.0.0.1:5000/acme/app@${A}`)).toEqual([
      { name: 'app', newName: '127.0.0.1:5000/acme/app', digest: A },
    ]);
  });

  it('refuses JSON nested too deeply before building it, naming the input and the limit', () => {
    const e = refusal(`${'['.repeat(10_000)}${']'.repeat(10_000)}`);
    expect(e.input).toBe('images');
    expect(e.message).toMatch(
      /^Input 'images' has an invalid value "\[+…": nested too deeply: more than the limit of 32 levels \(at character 33\)\. Accepted: /,
    );
    expect(e.hint).toMatch(/^Accepted: at most 100 KiB, 32 levels of nesting/);
  });

  it('refuses JSON too large, and one with too many values', () => {
    const big = JSON.stringify({
      web: { image: `ghcr.io/acme/web@${A}`, labels: { x: 'y'.repeat(110_000) } },
    });
    expect(refusal(big).message).toMatch(/: too large: \d+ bytes, more than the limit of 100 KiB\./);
    const many = JSON.stringify({
      web: { image: `ghcr.io/acme/web@${A}`, tags: Array<number>(10_001).fill(1) },
    });
    expect(refusal(many).message).toContain(
      ': too many values: more than the limit of 10000 with aliases expanded.',
    );
  });

  it('shows a bounded preview of a record without an image', () => {
    const e = refusal(JSON.stringify({ web: { tags: Array<string>(5000).fill('x'.repeat(10)) } }));
    expect(e.message).toContain("a build record ('web') needs an `image` field");
    expect(e.message.length).toBeLessThan(800);
  });

  it('keeps saying a syntax error is not valid JSON', () => {
    expect(refusal('{"image": ').message).toMatch(/: not valid JSON \(JSON error: .*\)\. Accepted: /);
  });
});

describe('checkImageOrigins', () => {
  const digest = `sha256:${'b'.repeat(64)}`;
  const pins = (text: string) => parseImagesInput(text);

  it("accepts the owner's packages by default, normalized names and prefixes as written", () => {
    expect(defaultImageOrigins('DreamScape')).toEqual(['ghcr.io/dreamscape/']);
    expect(() => {
      checkImageOrigins(pins(`web=ghcr.io/dreamscape/web@${digest}`), ['ghcr.io/dreamscape/']);
    }).not.toThrow();
    expect(() => {
      checkImageOrigins(pins(`nginx=nginx@${digest}`), ['docker.io/library']);
    }).not.toThrow();
    expect(() => {
      checkImageOrigins(pins(`web=evil.example/x@${digest}`), ['*']);
    }).not.toThrow();
  });

  it('refuses an image outside every prefix, a lookalike owner included, naming the input', () => {
    for (const ref of [
      `ghcr.io/dreamscape-evil/web@${digest}`,
      `ghcr.io/dreamscapex@${digest}`,
      `nginx@${digest}`,
    ])
      expect(() => {
        checkImageOrigins(pins(`web=${ref}`), ['ghcr.io/dreamscape/']);
      }).toThrow(/Input 'images'.*not under an allowed prefix/s);
    expect(() => {
      checkImageOrigins(pins(`web=ghcr.io/dreamscape/web@${digest}`), []);
    }).toThrow(/Input 'images'/);
  });
});

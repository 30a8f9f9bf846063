import { InputError } from '@dreamscape/core';
import { parseReference, type ImageReference } from '@dreamscape/image';
import type { ImagePin } from '@dreamscape/kube';

const ACCEPTED =
  'one `name=registry/repository@sha256:<digest>` per line, and/or action-build build records (a JSON object, an array of them, or an object of them keyed by service)';

/**
 * Reads the `images` input: `name=ref` lines (name as the manifests write it; the ref must carry a
 * digest) and/or build-record JSON from action-build. Each becomes a pin of the rendered overlay.
 */
export function parseImagesInput(text: string, input = 'images'): ImagePin[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const pins: ImagePin[] = [];
  const jsonStart = /^[[{]/.test(trimmed);
  if (jsonStart) {
    let doc: unknown;
    try {
      doc = JSON.parse(trimmed);
    } catch (error) {
      throw new InputError(input, trimmed, ACCEPTED, {
        reason: `not valid JSON (${String(error)})`,
        cause: error,
      });
    }
    for (const record of recordsOf(doc, input)) pins.push(pinFromRef(record, record, input));
  } else {
    for (const raw of trimmed.split(/\r?\n/)) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      if (line.startsWith('{')) {
        let record: unknown;
        try {
          record = JSON.parse(line);
        } catch (error) {
          throw new InputError(input, line, ACCEPTED, {
            reason: 'a line that starts with { is not valid JSON',
            cause: error,
          });
        }
        for (const image of recordsOf(record, input)) pins.push(pinFromRef(image, image, input));
        continue;
      }
      const eq = line.indexOf('=');
      if (eq <= 0) throw new InputError(input, line, ACCEPTED, { reason: 'expected name=ref' });
      pins.push(pinFromRef(line.slice(eq + 1).trim(), line, input, line.slice(0, eq).trim()));
    }
  }
  const seen = new Map<string, ImagePin>();
  for (const pin of pins) {
    const earlier = seen.get(pin.name);
    if (earlier !== undefined && earlier.digest !== pin.digest)
      throw new InputError(input, pin.name, ACCEPTED, {
        reason: `'${pin.name}' is given twice with different digests`,
      });
    seen.set(pin.name, pin);
  }
  return [...seen.values()];
}

/** The `image` of every build record in a JSON document. */
function recordsOf(doc: unknown, input: string): string[] {
  const one = (value: unknown): string => {
    if (
      typeof value === 'object' &&
      value !== null &&
      typeof (value as { image?: unknown }).image === 'string'
    )
      return (value as { image: string }).image;
    throw new InputError(input, JSON.stringify(value).slice(0, 200), ACCEPTED, {
      reason: 'a build record needs an `image` field',
    });
  };
  if (Array.isArray(doc)) return doc.map(one);
  if (typeof doc === 'object' && doc !== null) {
    if ('image' in doc) return [one(doc)];
    return Object.values(doc).map(one);
  }
  throw new InputError(input, String(doc), ACCEPTED);
}

function pinFromRef(refText: string, shown: string, input: string, name?: string): ImagePin {
  let ref: ImageReference;
  try {
    ref = parseReference(refText, { input, defaultTag: false });
  } catch (error) {
    throw new InputError(input, shown, ACCEPTED, {
      reason: error instanceof Error ? error.message : String(error),
      cause: error,
    });
  }
  if (ref.digest === undefined)
    throw new InputError(input, shown, ACCEPTED, {
      reason: `${refText} has no digest: deploys are pinned by digest (use action-build's 'image' output, name@sha256:...)`,
    });
  // The repository as written (tag and digest dropped), so a familiar name such as `nginx` stays one.
  const repository = refText.replace(/@.*$/, '').replace(/:[^/:]+$/, '');
  const pinName = name ?? repository;
  if (name !== undefined && !/^[a-z0-9][a-z0-9._/:-]*$/i.test(name))
    throw new InputError(input, shown, ACCEPTED, { reason: `'${name}' is not an image name` });
  return { name: pinName, ...(pinName === repository ? {} : { newName: repository }), digest: ref.digest };
}

import { describe, expect, it } from '@jest/globals';
import {
  formatPlatform,
  isAttestation,
  isImageManifest,
  isIndex,
  MEDIA_TYPES,
  parsePlatform,
  selectManifest,
  type Descriptor,
  type ImageIndex,
} from '../src/index.js';

const d = (n: string, platform?: string, annotations?: Record<string, string>): Descriptor => ({
  mediaType: MEDIA_TYPES.ociManifest,
  digest: `sha256:${n.repeat(64)}`,
  size: 100,
  platform: platform === undefined ? undefined : parsePlatform(platform),
  annotations,
});

describe('selectManifest', () => {
  const attestation = d('a', 'unknown/unknown', { 'vnd.docker.reference.type': 'attestation-manifest' });
  const index: ImageIndex = {
    schemaVersion: 2,
    manifests: [attestation, d('1', 'linux/arm64/v8'), d('2', 'linux/amd64'), d('3', 'linux/arm/v7')],
  };

  it('picks the platform asked for, with its variant', () => {
    expect(selectManifest(index, parsePlatform('linux/amd64'))?.digest).toBe(`sha256:${'2'.repeat(64)}`);
    expect(selectManifest(index, parsePlatform('linux/arm/v7'))?.digest).toBe(`sha256:${'3'.repeat(64)}`);
    expect(selectManifest(index, parsePlatform('linux/arm64'))?.digest).toBe(`sha256:${'1'.repeat(64)}`);
  });

  it('falls back to the first runnable entry, never an attestation', () => {
    expect(selectManifest(index, parsePlatform('windows/amd64'))?.digest).toBe(`sha256:${'1'.repeat(64)}`);
    expect(
      selectManifest({ schemaVersion: 2, manifests: [attestation] }, parsePlatform('linux/amd64')),
    ).toBeUndefined();
  });

  it('recognises attestations by annotation or by the unknown platform', () => {
    expect(isAttestation(d('b', 'unknown/unknown'))).toBe(true);
    expect(
      isAttestation(d('b', 'linux/amd64', { 'vnd.docker.reference.type': 'attestation-manifest' })),
    ).toBe(true);
    expect(isAttestation(d('b', 'linux/amd64'))).toBe(false);
  });
});

describe('media types', () => {
  it('tells indexes from manifests', () => {
    expect(isIndex(MEDIA_TYPES.dockerManifestList, {})).toBe(true);
    expect(isIndex('', { manifests: [] })).toBe(true);
    expect(isIndex(MEDIA_TYPES.ociManifest, { config: { digest: 'x' } })).toBe(false);
    expect(isImageManifest({ config: { digest: 'sha256:x' }, layers: [] })).toBe(true);
    expect(isImageManifest({ manifests: [] })).toBe(false);
  });

  it('formats platforms', () => {
    expect(formatPlatform(parsePlatform('linux/arm64/v8'))).toBe('linux/arm64/v8');
    expect(formatPlatform(parsePlatform('linux/amd64'))).toBe('linux/amd64');
  });
});

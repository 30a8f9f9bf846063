import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promoteUnreleased, releaseNotes, unreleasedNotes } from '../changelog.js';

const HEADER = '# Changelog\n\nAll notable changes are documented here.\n';

const changelog = [
  HEADER,
  '## [Unreleased]',
  '',
  '### Added',
  '',
  '- action-scan: `fail-on: new`.',
  '',
  '### Changed',
  '',
  '### Fixed',
  '',
  '- action-deploy waits for every port.',
  '',
  '## [1.0.0] - 2025-05-01',
  '',
  '### Added',
  '',
  '- Everything.',
  '',
  '[Unreleased]: https://github.com/dreamscape/actions/compare/v1.0.0...HEAD',
  '[1.0.0]: https://github.com/dreamscape/actions/releases/tag/v1.0.0',
  '',
].join('\n');

describe('the Unreleased section', () => {
  it('holds the notes up to the next release, without empty headings', () => {
    expect(unreleasedNotes(changelog)).toBe(
      '### Added\n\n- action-scan: `fail-on: new`.\n\n### Fixed\n\n- action-deploy waits for every port.',
    );
  });

  it('is empty with nothing but blank lines and headings, and missing without its heading', () => {
    expect(
      unreleasedNotes(
        `${HEADER}\n## [Unreleased]\n\n### Added\n\n### Fixed\n\n## [1.0.0] - 2025-05-01\n\n- x\n`,
      ),
    ).toBe('');
    expect(
      unreleasedNotes(
        `${HEADER}\n## [Unreleased]\n\n[Unreleased]: https://github.com/a/b/compare/v1.0.0...HEAD\n`,
      ),
    ).toBe('');
    expect(unreleasedNotes(`${HEADER}\n## [1.0.0] - 2025-05-01\n\n- x\n`)).toBeUndefined();
  });

  it('ends at the link definitions when it is the last section', () => {
    expect(
      unreleasedNotes(
        `${HEADER}\n## [Unreleased]\n\n- one\n\n[Unreleased]: https://github.com/a/b/commits/main\n`,
      ),
    ).toBe('- one');
  });
});

describe('promoteUnreleased', () => {
  it('moves the notes under the version and date, leaves an empty Unreleased section, and updates the links', () => {
    expect(
      promoteUnreleased(changelog, { version: '1.1.0', date: '2025-06-01', previousTag: 'v1.0.0' }),
    ).toBe(
      [
        HEADER,
        '## [Unreleased]',
        '',
        '## [1.1.0] - 2025-06-01',
        '',
        '### Added',
        '',
        '- action-scan: `fail-on: new`.',
        '',
        '### Fixed',
        '',
        '- action-deploy waits for every port.',
        '',
        '## [1.0.0] - 2025-05-01',
        '',
        '### Added',
        '',
        '- Everything.',
        '',
        '[Unreleased]: https://github.com/dreamscape/actions/compare/v1.1.0...HEAD',
        '[1.1.0]: https://github.com/dreamscape/actions/compare/v1.0.0...v1.1.0',
        '[1.0.0]: https://github.com/dreamscape/actions/releases/tag/v1.0.0',
        '',
      ].join('\n'),
    );
  });

  it('gives the first release a link to its tag, and adds no links to a file without them', () => {
    const first = `${HEADER}\n## [Unreleased]\n\n- one\n\n[unreleased]: https://github.com/dreamscape/actions/commits/main\n`;
    expect(promoteUnreleased(first, { version: '1.0.0', date: '2025-06-01' })).toBe(
      `${HEADER}\n## [Unreleased]\n\n## [1.0.0] - 2025-06-01\n\n- one\n\n[unreleased]: https://github.com/dreamscape/actions/compare/v1.0.0...HEAD\n[1.0.0]: https://github.com/dreamscape/actions/releases/tag/v1.0.0\n`,
    );
    expect(
      promoteUnreleased(`${HEADER}\n## [Unreleased]\n\n- one\n`, { version: '1.0.0', date: '2025-06-01' }),
    ).toBe(`${HEADER}\n## [Unreleased]\n\n## [1.0.0] - 2025-06-01\n\n- one\n`);
  });

  it('writes a file whose release section reads back as the notes it moved', () => {
    const promoted = promoteUnreleased(changelog, {
      version: '1.1.0',
      date: '2025-06-01',
      previousTag: 'v1.0.0',
    });
    expect(releaseNotes(promoted, '1.1.0')).toBe(unreleasedNotes(changelog));
    expect(unreleasedNotes(promoted)).toBe('');
    expect(releaseNotes(promoted, '1.0.0')).toBe('### Added\n\n- Everything.');
    expect(releaseNotes(promoted, '1.0.1')).toBeUndefined();
    expect(releaseNotes(promoted.replace('1.1.0] - 2025-06-01', '1.1.0]'), '1.1.0')).toBe(
      unreleasedNotes(changelog),
    );
  });
});

describe("the repository's CHANGELOG.md", () => {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const text = readFileSync(join(root, 'CHANGELOG.md'), 'utf8');

  it('is one the release reads: a Keep a Changelog header and an Unreleased section', () => {
    expect(text).toMatch(/^# Changelog\n/);
    expect(text).toContain('[Keep a Changelog](https://keepachangelog.com/en/1.1.0/)');
    expect(unreleasedNotes(text)).toBeDefined();
  });
});

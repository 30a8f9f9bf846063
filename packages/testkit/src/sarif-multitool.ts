import { execFileSync } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  constants,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One problem Microsoft's SARIF Multitool found. */
export interface SarifIssue {
  readonly ruleId: string;
  readonly level: string;
  readonly message: string;
}

/** What `Sarif.Multitool validate` said about a file. */
export interface SarifValidation {
  readonly errors: readonly SarifIssue[];
  readonly warnings: readonly SarifIssue[];
  readonly notes: readonly SarifIssue[];
  /** The tool's console output, for failing tests to show. */
  readonly output: string;
}

/**
 * The path of Microsoft's SARIF Multitool, from the npm package `@microsoft/sarif-multitool`
 * (a self-contained .NET build in `@microsoft/sarif-multitool-linux`: no .NET runtime needed). Throws,
 * failing the test, when the package is not installed.
 */
export function requireSarifMultitool(): string {
  let path: string;
  try {
    path = createRequire(import.meta.url)('@microsoft/sarif-multitool') as string;
    statSync(path);
  } catch (error) {
    throw new Error(
      "This test needs Microsoft's SARIF Multitool: run `npm ci` (devDependency @microsoft/sarif-multitool; on Linux it brings @microsoft/sarif-multitool-linux).",
      { cause: error },
    );
  }
  try {
    accessSync(path, constants.X_OK);
  } catch {
    // The package marks its binary executable in a postinstall script; installs that skip scripts leave it 0644.
    chmodSync(path, 0o755);
  }
  return path;
}

/**
 * Runs `Sarif.Multitool validate --rule-kind "Gh;Sarif"` (the SARIF schema and rules plus GitHub's
 * code scanning ingestion rules) on a file and returns what it found, by level.
 */
export function validateSarif(file: string): SarifValidation {
  const tool = requireSarifMultitool();
  const dir = mkdtempSync(join(tmpdir(), 'ds-sarif-validate-'));
  const out = join(dir, 'validation.sarif');
  // SARIF2006 fetches every URI in the file over HTTP: tests must never reach beyond this machine.
  const config = join(dir, 'policy.xml');
  writeFileSync(
    config,
    [
      '<?xml version="1.0" encoding="utf-8"?>',
      '<Properties>',
      '  <Properties Key="SARIF2006.UrisShouldBeReachable.Options">',
      '    <Property Key="RuleEnabled" Value="Disabled" />',
      '  </Properties>',
      '</Properties>',
      '',
    ].join('\n'),
  );
  let output: string;
  try {
    try {
      output = execFileSync(
        tool,
        [
          'validate',
          '--rule-kind',
          'Gh;Sarif',
          '--level',
          'Error;Warning;Note',
          '--config',
          config,
          '--log',
          'ForceOverwrite',
          '--output',
          out,
          file,
        ],
        {
          encoding: 'utf8',
          // The .NET runtime inside needs ICU unless told to run culture-invariant: this keeps libicu optional.
          env: {
            ...process.env,
            DOTNET_SYSTEM_GLOBALIZATION_INVARIANT: '1',
            DOTNET_CLI_TELEMETRY_OPTOUT: '1',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
          timeout: 120_000,
        },
      );
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string; message: string };
      output = `${e.stdout ?? ''}${e.stderr ?? ''}`;
      try {
        statSync(out);
      } catch {
        throw new Error(`Sarif.Multitool could not validate ${file}: ${e.message}\n${output}`, {
          cause: error,
        });
      }
    }
    const log = JSON.parse(readFileSync(out, 'utf8')) as {
      runs?: {
        results?: {
          ruleId?: string;
          level?: string;
          message?: { text?: string; id?: string; arguments?: string[] };
        }[];
      }[];
    };
    const issues: SarifIssue[] = (log.runs ?? []).flatMap((run) =>
      (run.results ?? []).map((r) => ({
        ruleId: r.ruleId ?? '',
        level: r.level ?? 'warning',
        message: r.message?.text ?? [r.message?.id ?? '', ...(r.message?.arguments ?? [])].join(' '),
      })),
    );
    return {
      errors: issues.filter((i) => i.level === 'error'),
      warnings: issues.filter((i) => i.level === 'warning'),
      notes: issues.filter((i) => i.level === 'note'),
      output,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

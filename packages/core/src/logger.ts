import { SecretMasker } from './secret-masker.js';

/**
 * What domain code may say. Actions back it with `@actions/core`; the demo, benchmarks and tests use
 * {@link ConsoleLogger} or {@link MemoryLogger}. Every implementation redacts registered secrets.
 */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  notice(message: string): void;
  warning(message: string): void;
  error(message: string): void;
  /** Runs `fn` inside a collapsible group (a `core.group` in an action). */
  group<T>(title: string, fn: () => Promise<T>): Promise<T>;
  /** Registers a credential so that it never appears in anything this logger or its runner prints. */
  setSecret(secret: string): void;
  readonly masker: SecretMasker;
}

/** One entry recorded by {@link MemoryLogger}. */
export interface LogEntry {
  readonly level: 'debug' | 'info' | 'notice' | 'warning' | 'error' | 'group';
  readonly message: string;
}

/** A logger that keeps every (redacted) line in memory, for tests and for collecting demo output. */
export class MemoryLogger implements Logger {
  readonly masker: SecretMasker;
  readonly entries: LogEntry[] = [];

  constructor(masker: SecretMasker = new SecretMasker()) {
    this.masker = masker;
  }

  debug(message: string): void {
    this.push('debug', message);
  }
  info(message: string): void {
    this.push('info', message);
  }
  notice(message: string): void {
    this.push('notice', message);
  }
  warning(message: string): void {
    this.push('warning', message);
  }
  error(message: string): void {
    this.push('error', message);
  }
  async group<T>(title: string, fn: () => Promise<T>): Promise<T> {
    this.push('group', title);
    return fn();
  }
  setSecret(secret: string): void {
    this.masker.add(secret);
  }
  /** All lines at or above `info`, joined, for assertions. */
  text(includeDebug = false): string {
    return this.entries
      .filter((e) => includeDebug || e.level !== 'debug')
      .map((e) => e.message)
      .join('\n');
  }
  private push(level: LogEntry['level'], message: string): void {
    this.entries.push({ level, message: this.masker.redact(message) });
  }
}

/** Options for {@link ConsoleLogger}. */
export interface ConsoleLoggerOptions {
  readonly debug?: boolean;
  readonly prefix?: string;
  readonly write?: (line: string) => void;
}

/** A plain-text logger for scripts (demo, benchmarks): one line per message on stderr. */
export class ConsoleLogger implements Logger {
  readonly masker: SecretMasker;
  private readonly showDebug: boolean;
  private readonly prefix: string;
  private readonly write: (line: string) => void;

  constructor(options: ConsoleLoggerOptions = {}, masker: SecretMasker = new SecretMasker()) {
    this.masker = masker;
    this.showDebug = options.debug ?? false;
    this.prefix = options.prefix ?? '';
    this.write =
      options.write ??
      ((line: string) => {
        process.stderr.write(`${line}\n`);
      });
  }

  debug(message: string): void {
    if (this.showDebug) this.emit(`[debug] ${message}`);
  }
  info(message: string): void {
    this.emit(message);
  }
  notice(message: string): void {
    this.emit(`[notice] ${message}`);
  }
  warning(message: string): void {
    this.emit(`[warning] ${message}`);
  }
  error(message: string): void {
    this.emit(`[error] ${message}`);
  }
  async group<T>(title: string, fn: () => Promise<T>): Promise<T> {
    this.emit(`▶ ${title}`);
    return fn();
  }
  setSecret(secret: string): void {
    this.masker.add(secret);
  }
  private emit(line: string): void {
    this.write(this.masker.redact(`${this.prefix}${line}`));
  }
}

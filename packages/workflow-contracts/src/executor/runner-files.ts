import type { WorkflowCommand } from './run-record.js';

/**
 * Reads a file command (GITHUB_OUTPUT, GITHUB_ENV) as the runner does: `NAME=value` lines, and
 * `NAME<<DELIMITER` followed by lines up to a line that is exactly the delimiter (the value is
 * those lines joined with `\n`). Empty lines are skipped. A line of neither form, an empty name or
 * delimiter, or a delimiter never found is an error: the runner fails the step.
 */
export function parseFileCommand(text: string, file: string): Map<string, string> {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines.at(-1) === '') lines.pop();
  const out = new Map<string, string>();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line === '') continue;
    const equals = line.indexOf('=');
    const heredoc = line.indexOf('<<');
    if (equals >= 0 && (heredoc < 0 || equals < heredoc)) {
      const name = line.slice(0, equals);
      if (name === '') throw new Error(`Invalid format '${line}' in ${file}: the name is empty`);
      out.set(name, line.slice(equals + 1));
    } else if (heredoc >= 0) {
      const name = line.slice(0, heredoc);
      const delimiter = line.slice(heredoc + 2);
      if (name === '' || delimiter === '') throw new Error(`Invalid format '${line}' in ${file}`);
      const value: string[] = [];
      let closed = false;
      for (i++; i < lines.length; i++) {
        if (lines[i] === delimiter) {
          closed = true;
          break;
        }
        value.push(lines[i] ?? '');
      }
      if (!closed) throw new Error(`Matching delimiter not found '${delimiter}' in ${file}`);
      out.set(name, value.join('\n'));
    } else throw new Error(`Invalid format '${line}' in ${file}`);
  }
  return out;
}

function unescapeData(text: string): string {
  return text.replace(/%0D/gi, '\r').replace(/%0A/gi, '\n').replace(/%25/g, '%');
}

function unescapeProperty(text: string): string {
  return unescapeData(text).replace(/%3A/gi, ':').replace(/%2C/gi, ',');
}

/**
 * The workflow commands in a step's output (`::name key=value,...::data`, leading whitespace
 * allowed), as the runner reads them line by line, `::stop-commands::TOKEN` ... `::TOKEN::` included.
 */
export function workflowCommands(output: string): WorkflowCommand[] {
  const commands: WorkflowCommand[] = [];
  let stopToken: string | undefined;
  for (const raw of output.split('\n')) {
    const line = raw.replace(/\r$/, '').trimStart();
    if (!line.startsWith('::')) continue;
    const end = line.indexOf('::', 2);
    if (end < 0) continue;
    const info = line.slice(2, end);
    const data = line.slice(end + 2);
    if (stopToken !== undefined) {
      if (info === stopToken) stopToken = undefined;
      continue;
    }
    const space = info.indexOf(' ');
    const command = space < 0 ? info : info.slice(0, space);
    if (command === '') continue;
    const properties: Record<string, string> = {};
    if (space >= 0)
      for (const pair of info.slice(space + 1).split(',')) {
        const eq = pair.indexOf('=');
        if (eq > 0) properties[pair.slice(0, eq).trim()] = unescapeProperty(pair.slice(eq + 1));
      }
    if (command === 'stop-commands') {
      stopToken = data;
      continue;
    }
    commands.push({ command, properties, data: unescapeData(data) });
  }
  return commands;
}

/** Replaces each secret in `text` (and each line of a multi-line one, 4 characters or more) with `***`. */
export function maskSecrets(text: string, secrets: Iterable<string>): string {
  const values = new Set<string>();
  for (const s of secrets) {
    if (s === '') continue;
    values.add(s);
    for (const line of s.split(/\r?\n/)) if (line.trim().length >= 4) values.add(line);
  }
  let out = text;
  for (const v of [...values].sort((a, b) => b.length - a.length)) out = out.split(v).join('***');
  return out;
}

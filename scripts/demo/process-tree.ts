import { readdirSync, readFileSync } from 'node:fs';

/**
 * The living descendants of `root`, deepest first, read from /proc (Linux, where the demo runs:
 * buildah needs it). Empty where there is no /proc.
 */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
  for (const entry of entries) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // ended meanwhile
    }
    // `pid (comm) state ppid ...`; comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  const visit = (pid: number): void => {
    for (const child of children.get(pid) ?? []) {
      visit(child);
      found.push(child);
    }
  };
  visit(root);
  return found;
}

/**
 * Sends `signal` to every descendant of `root` (the actions this process started, and what they
 * started: buildah, kubectl, a scanner; also the registry and the double, which stop on SIGTERM),
 * then waits up to `waitMs` for them to be gone and SIGKILLs what is left.
 */
export async function terminateDescendants(
  root: number,
  signal: NodeJS.Signals,
  waitMs = 5000,
): Promise<void> {
  const signalAll = (pids: readonly number[], sig: NodeJS.Signals): void => {
    for (const pid of pids) {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  };
  signalAll(descendants(root), signal);
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    const left = descendants(root).filter((pid) => !isZombie(pid));
    if (left.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  signalAll(descendants(root), 'SIGKILL');
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/**
 * Replaces registered secrets with `***` in any text before it leaves the process: log lines,
 * command lines, error messages, outputs and summaries.
 */
export class SecretMasker {
  private readonly secrets = new Set<string>();
  private pattern: RegExp | undefined;

  /**
   * Registers a secret and the encodings in which it commonly leaks (JSON string escaping, URL
   * encoding, base64). Values shorter than 4 characters are ignored: masking them would shred logs.
   */
  add(secret: string | undefined): void {
    if (secret === undefined) return;
    const value = secret.trim();
    if (value.length < 4) return;
    const variants = [
      value,
      JSON.stringify(value).slice(1, -1),
      encodeURIComponent(value),
      Buffer.from(value, 'utf8').toString('base64'),
    ];
    for (const line of value.split(/\r?\n/)) if (line.trim().length >= 4) variants.push(line.trim());
    let changed = false;
    for (const v of variants) {
      if (!this.secrets.has(v)) {
        this.secrets.add(v);
        changed = true;
      }
    }
    if (changed) this.pattern = undefined;
  }

  /** Every registered value, longest first. */
  values(): readonly string[] {
    return [...this.secrets].sort((a, b) => b.length - a.length);
  }

  /** The text with every registered secret replaced by `***`. */
  redact(text: string): string {
    if (this.secrets.size === 0) return text;
    this.pattern ??= new RegExp(this.values().map(escapeRegExp).join('|'), 'g');
    return text.replace(this.pattern, '***');
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

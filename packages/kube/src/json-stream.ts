/**
 * Splits a stream of concatenated JSON objects (`kubectl get --watch -o json` prints each event as
 * an indented, multi-line object, one after another) into complete values as the text arrives.
 */
export class JsonObjectStream {
  private buffer = '';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private start = -1;

  /** Feeds more text; returns every object completed by it, parsed. */
  push(text: string): unknown[] {
    const done: unknown[] = [];
    const offset = this.buffer.length;
    this.buffer += text;
    for (let i = offset; i < this.buffer.length; i++) {
      const ch = this.buffer[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (ch === '\\') this.escaped = true;
        else if (ch === '"') this.inString = false;
        continue;
      }
      if (ch === '"') {
        if (this.depth > 0) this.inString = true;
      } else if (ch === '{' || ch === '[') {
        if (this.depth === 0) this.start = i;
        this.depth++;
      } else if ((ch === '}' || ch === ']') && this.depth > 0) {
        this.depth--;
        if (this.depth === 0 && this.start >= 0) {
          done.push(JSON.parse(this.buffer.slice(this.start, i + 1)));
          this.start = -1;
        }
      }
    }
    if (this.depth === 0) {
      this.buffer = '';
    } else if (this.start > 0) {
      this.buffer = this.buffer.slice(this.start);
      this.start = 0;
    }
    return done;
  }

  /** Forgets a partial object (after the producing process was restarted). */
  reset(): void {
    this.buffer = '';
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
    this.start = -1;
  }
}

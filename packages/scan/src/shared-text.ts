/** The text of a vulnerability, as each match of it repeats it. */
export interface VulnerabilityText {
  readonly title: string;
  readonly description: string;
  readonly primaryUrl: string | undefined;
  readonly urls: readonly string[];
}

/**
 * Lets every match of one vulnerability share the strings of the first: a report repeats the same
 * description and references for each affected package, and de-duplication keeps only one copy
 * anyway. Sharing at parse time lets the copies be freed while the report is still being read, so a
 * 100,000-match report holds each text once instead of once per package.
 */
export class SharedText {
  private readonly byId = new Map<string, VulnerabilityText>();
  private readonly short = new Map<string, string>();

  /** The first-seen text for `id` where equal, else `text` itself. */
  share(id: string, text: VulnerabilityText): VulnerabilityText {
    const known = this.byId.get(id);
    if (known === undefined) {
      this.byId.set(id, text);
      return text;
    }
    const urls =
      known.urls.length === text.urls.length && known.urls.every((u, i) => u === text.urls[i])
        ? known.urls
        : text.urls;
    if (
      known.title === text.title &&
      known.description === text.description &&
      known.primaryUrl === text.primaryUrl &&
      urls === known.urls
    )
      return known;
    return {
      title: known.title === text.title ? known.title : text.title,
      description: known.description === text.description ? known.description : text.description,
      primaryUrl: known.primaryUrl === text.primaryUrl ? known.primaryUrl : text.primaryUrl,
      urls,
    };
  }

  /** One instance of a short, much repeated string (layer digests, package types, targets). */
  intern(value: string | undefined): string | undefined {
    if (value === undefined) return undefined;
    const known = this.short.get(value);
    if (known !== undefined) return known;
    if (this.short.size < 10_000) this.short.set(value, value);
    return value;
  }
}

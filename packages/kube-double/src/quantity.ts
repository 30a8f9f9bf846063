/** Kubernetes resource quantities (`100m`, `1.5`, `128Mi`, `1G`, `1e3`), as exact milli-units. */

const BINARY: Readonly<Record<string, number>> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: Readonly<Record<string, number>> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};
const QUANTITY = /^([+-]?[0-9.]+)(e[+-]?[0-9]+|E[+-]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$/;

/** The quantity in thousandths of its unit (cores, bytes), or undefined when it does not parse. */
export function parseMilli(text: string | number): number | undefined {
  if (typeof text === 'number') return Math.round(text * 1000);
  const match = QUANTITY.exec(text.trim());
  if (match === null) return undefined;
  const value = Number(match[1]);
  if (!Number.isFinite(value)) return undefined;
  const suffix = match[2] ?? '';
  const factor =
    BINARY[suffix] ?? DECIMAL[suffix] ?? (/^[eE]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : undefined);
  if (factor === undefined) return undefined;
  return Math.round(value * factor * 1000);
}

/** A sum of milli-units written back as the real server prints it: `1500m`, `2`, `256Mi`. */
export function formatMilli(milli: number, binary: boolean): string {
  if (milli === 0) return '0';
  if (milli % 1000 !== 0) return `${milli}m`;
  const whole = milli / 1000;
  if (binary)
    for (const suffix of ['Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki']) {
      const factor = BINARY[suffix] ?? 1;
      if (whole >= factor && whole % factor === 0) return `${whole / factor}${suffix}`;
    }
  return String(whole);
}

/** The two colors of a blue-green pair. */
export const COLORS = ['blue', 'green'] as const;
export type Color = (typeof COLORS)[number];

/** The label (and Service selector key) that carries a pod's color. */
export const COLOR_LABEL = 'dreamscape.io/color';
/** Labels on every object the engine manages. */
export const APP_LABEL = 'dreamscape.io/app';
export const ENVIRONMENT_LABEL = 'dreamscape.io/environment';
/** `preview` on the `<service>-preview` Services. */
export const ROLE_LABEL = 'dreamscape.io/role';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'dreamscape';
/** The field manager of every write. */
export const FIELD_MANAGER = 'dreamscape';

/** The other color. */
export function otherColor(color: Color): Color {
  return color === 'blue' ? 'green' : 'blue';
}

/** Whether a label value is one of our colors. */
export function isColor(value: unknown): value is Color {
  return value === 'blue' || value === 'green';
}

/** `<name>-<color>`, the name of a colored copy. */
export function coloredName(name: string, color: Color): string {
  return `${name}-${color}`;
}

/** `<service>-preview`, the Service that always selects the candidate color. */
export function previewName(service: string): string {
  return `${service}-preview`;
}

/**
 * The roles a caller can have, declared once: the access model (lib/access.ts), the configuration
 * (per-role limits in lib/config.ts) and the gateway all read this list.
 */
export const ROLES = ['anonymous', 'frontend', 'analyst', 'partner', 'editor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/**
 * The formats of configuration values that several variables share or that take more than a line
 * to parse (lib/config.ts declares the variables).
 */
import { z } from 'zod';
import { ROLES, type Role } from './roles.ts';

export const port = z.coerce.number().int().min(0).max(65535);
export const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
export const optionalUrl = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/** `role=requests/seconds,…`, or `off`. */
export const rateLimits = z
  .string()
  .regex(/^(off|([a-z]+=\d+\/\d+)(,[a-z]+=\d+\/\d+)*)$/, 'expected role=requests/seconds,… or off')
  .transform((v, ctx) => {
    if (v === 'off') return null;
    const out: Partial<Record<Role, { points: number; seconds: number }>> = {};
    for (const part of v.split(',')) {
      const [role, rate] = part.split('=') as [string, string];
      const [points, seconds] = rate.split('/').map(Number) as [number, number];
      if (!(ROLES as readonly string[]).includes(role)) {
        ctx.addIssue({ code: 'custom', message: `unknown role ${role}` });
        return z.NEVER;
      }
      if (points < 1 || seconds < 1) {
        ctx.addIssue({ code: 'custom', message: `${role}: requests and seconds must be at least 1` });
        return z.NEVER;
      }
      out[role as Role] = { points, seconds };
    }
    return out;
  });

/** `*` (every subgraph), `none`, or a comma-separated list of subgraph names. */
export const scope = z
  .string()
  .regex(/^(\*|none|[a-z0-9_-]+(,[a-z0-9_-]+)*)$/, 'expected *, none or a comma-separated list of subgraphs')
  .transform((v): '*' | string[] => (v === '*' ? '*' : v === 'none' ? [] : v.split(',')));

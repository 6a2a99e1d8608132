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

/** Per-role operation limits (gateway/operationLimits.ts has the defaults); any subset may be overridden. */
const operationLimitsSchema = z
  .object({
    maxDepth: z.number().int().min(1),
    maxAliases: z.number().int().min(0),
    maxRootFields: z.number().int().min(1),
    maxDirectives: z.number().int().min(0),
    maxTokens: z.number().int().min(1),
    maxCost: z.number().int().min(1),
  })
  .partial()
  .strict();

/** Per-role execution limits, the ceilings that hold during execution (gateway/operationLimits.ts has the defaults); any subset may be overridden. */
const executionLimitsSchema = z
  .object({
    maxResponseBytes: z.number().int().min(1024),
    deadlineMs: z.number().int().min(1),
  })
  .partial()
  .strict();

/** A JSON value in a string, '' standing for `{}`. */
const jsonText = z.string().transform((v, ctx) => {
  if (v.trim() === '') return {};
  try {
    return JSON.parse(v) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not JSON' });
    return z.NEVER;
  }
});

/** A JSON object of per-role overrides, '' for none. */
const perRoleJson = <T extends z.ZodType>(value: T) => jsonText.pipe(z.partialRecord(z.enum(ROLES), value));

/** OPERATION_LIMITS: a JSON object of per-role operation limit overrides. */
export const operationLimits = perRoleJson(operationLimitsSchema);
/** EXECUTION_LIMITS: a JSON object of per-role execution limit overrides. */
export const executionLimits = perRoleJson(executionLimitsSchema);

/** `name=ms,name=ms`: per-subgraph timeouts. */
export const subgraphTimeouts = z
  .string()
  .regex(/^([a-z0-9_-]+=\d+)?(,[a-z0-9_-]+=\d+)*$/, 'expected name=ms,name=ms')
  .transform((v) => Object.fromEntries(v.split(',').filter(Boolean).map((p) => [p.split('=')[0]!, Number(p.split('=')[1])])));

/**
 * Headers no HEADER_RULES rule may name, and that a pattern never matches: the gateway's own
 * (the signed caller `x-ali-gateway-token`, `x-request-id`) and those of the HTTP exchange with
 * the subgraph.
 */
export const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  'x-ali-gateway-token',
  'x-request-id',
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'content-length',
  'content-type',
  'content-encoding',
  'accept',
  'accept-encoding',
]);

const headerName = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'not a header name')
  .transform((n) => n.toLowerCase())
  .refine((n) => !RESERVED_HEADERS.has(n), { message: 'a header the gateway sets itself' });
const headerPattern = z.string().transform((p, ctx) => {
  try {
    return new RegExp(p, 'i');
  } catch {
    ctx.addIssue({ code: 'custom', message: `not a regular expression: ${p}` });
    return z.NEVER;
  }
});
const headerRule = z.union([
  z.object({ propagate: z.union([z.object({ named: headerName, rename: headerName.optional(), default: z.string().optional() }).strict(), z.object({ matching: headerPattern }).strict()]) }).strict(),
  z.object({ insert: z.object({ name: headerName, value: z.string() }).strict() }).strict(),
  z.object({ remove: z.union([z.object({ named: headerName }).strict(), z.object({ matching: headerPattern }).strict()]) }).strict(),
]);
export type HeaderRule = z.output<typeof headerRule>;

/**
 * HEADER_RULES: which client headers reach which subgraph, as Apollo Router's `headers`
 * configuration says it, in JSON: `{"all":[rules],"subgraphs":{"<name>":[rules]}}` (the rules:
 * gateway/transport/headerRules.ts); '' for none.
 */
export const headerRules = jsonText.pipe(z.object({ all: z.array(headerRule).default([]), subgraphs: z.record(z.string(), z.array(headerRule)).default({}) }).strict());
export type HeaderRules = z.output<typeof headerRules>;

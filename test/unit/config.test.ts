/**
 * Configuration: defaults, validation with every problem reported at once, and the
 * documentation (.env.example, docs/configuration.md) mirroring the one specification.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configSpec, ConfigError, loadConfig, productionNote } from '../../lib/config.ts';

describe('configuration', () => {
  it('has a default for everything but the optional URLs', () => {
    const cfg = loadConfig({});
    expect(cfg).toMatchObject({ GATEWAY_PORT: 4000, ALLIANCES_PORT: 4001, PAGE_SIZE_DEFAULT: 100, PAGE_SIZE_MAX: 500, SEED_ON_START: true });
    expect(cfg.MONGODB_URI).toBeUndefined();
    expect(Object.isFrozen(cfg)).toBe(true);
  });

  it('rejects bad values, naming each one', () => {
    let error: unknown;
    try {
      loadConfig({ GATEWAY_PORT: '70000', SEED_ON_START: 'maybe', LOG_LEVEL: 'loud', PAGE_SIZE_DEFAULT: '50', PAGE_SIZE_MAX: '10' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const name of ['GATEWAY_PORT', 'SEED_ON_START', 'LOG_LEVEL', 'PAGE_SIZE_DEFAULT (50) exceeds PAGE_SIZE_MAX (10)']) {
      expect(message).toContain(name);
    }
  });

  it('is documented in .env.example and docs/configuration.md, with the same defaults', () => {
    const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    const docs = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    for (const [name, spec] of Object.entries(configSpec)) {
      const def = 'default' in spec ? spec.default : '';
      const production = productionNote(spec);
      expect(example, name).toContain(`\n${name}=${def}\n`);
      expect(example, name).toContain(`# ${spec.description}\n${production ? `# NODE_ENV=production: ${production}\n` : ''}${name}=`);
      expect(docs, name).toContain(`| \`${name}\` | ${def ? `\`${def}\`` : '—'} | ${production === undefined ? '' : production.includes(' ') ? production : `\`${production}\``} |`);
    }
  });

  it('refuses a gateway token lifetime the subgraphs would refuse, and a subgraph body limit below the gateway\'s', () => {
    expect(() => loadConfig({ GATEWAY_TOKEN_TTL_SECONDS: '300' })).toThrow(/GATEWAY_TOKEN_TTL_SECONDS \(300\) exceeds GATEWAY_TOKEN_MAX_LIFETIME_SECONDS \(120\)/);
    expect(() => loadConfig({ BODY_LIMIT_BYTES: '16777216' })).toThrow(/SUBGRAPH_BODY_LIMIT_BYTES \(8388608\) is below BODY_LIMIT_BYTES/);
  });

  it('has the safe defaults in production, and no ANONYMOUS_SCOPE until it is set', () => {
    const cfg = loadConfig({ NODE_ENV: 'production' });
    expect([cfg.ANONYMOUS_SCOPE, cfg.CORS_ORIGINS, cfg.METRICS_PORT, cfg.METRICS_ACCESS]).toEqual([undefined, 'none', 9464, 'admin']);
    expect(loadConfig({ NODE_ENV: 'production', CORS_ORIGINS: 'https://portal.example', METRICS_PORT: 'gateway' })).toMatchObject({
      CORS_ORIGINS: 'https://portal.example',
      METRICS_PORT: 'gateway',
    });
  });
});

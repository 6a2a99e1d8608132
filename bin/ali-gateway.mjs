#!/usr/bin/env node
// `ali-gateway --supergraph FILE [--port N]`: the ALI Graph gateway over any Federation 2 supergraph.
import { register } from 'tsx/esm/api';

register();
await import('../gateway/index.ts');

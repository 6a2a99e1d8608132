/**
 * deploy/helm/ali-graph, checked without a cluster. Helm itself (test/e2e/tools/helm, pinned) lints
 * the chart and renders it for each values file; test/e2e/tools/kubecheck decodes every rendered
 * object strictly into the API types of the pinned Kubernetes version; the policies operators
 * ask of a chart are then checked on the decoded objects: probes, resources, non-root, read-only
 * root file system, no capabilities, no :latest, graceful termination matching the drain, and
 * the NetworkPolicy that lets only the gateway reach the subgraphs.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { configSpec, SUBGRAPH_NAMES } from '../../lib/config.ts';
import { CHART_DIR, renderChartReadme } from '../../scripts/helm-docs.ts';

const execFileAsync = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..', '..');
/** A cold build of Helm from the Go module proxy took 3 to 7 minutes on two busy cores here. */
const BUILD_TIMEOUT_MS = 15 * 60_000;

/* The parts of the Kubernetes objects these tests read (kubecheck prints the typed objects). */
interface Meta { name: string; labels?: Record<string, string> }
interface Probe { httpGet?: { path: string; port: string | number }; tcpSocket?: { port: string | number } }
interface EnvVar { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }
interface Container {
  name: string;
  image: string;
  command?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { runAsNonRoot?: boolean; readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[]; add?: string[] } };
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  volumeMounts?: { name: string; mountPath: string; subPath?: string }[];
}
interface PodSpec {
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  terminationGracePeriodSeconds?: number;
  containers: Container[];
  volumes?: { name: string; configMap?: { name: string } }[];
  automountServiceAccountToken?: boolean;
}
interface LabelSelector { matchLabels?: Record<string, string> }
type K8sObject =
  | { kind: 'Deployment'; metadata: Meta; spec: { selector: LabelSelector; template: { metadata: Meta; spec: PodSpec } } }
  | { kind: 'Service'; metadata: Meta; spec: { selector: Record<string, string>; ports: { port: number; targetPort: string | number }[] } }
  | { kind: 'NetworkPolicy'; metadata: Meta; spec: { podSelector: LabelSelector; policyTypes: string[]; ingress?: { from?: { podSelector?: LabelSelector; namespaceSelector?: LabelSelector }[] }[] } }
  | { kind: 'HorizontalPodAutoscaler'; metadata: Meta; spec: { scaleTargetRef: { kind: string; name: string }; minReplicas: number; maxReplicas: number } }
  | { kind: 'PodDisruptionBudget'; metadata: Meta; spec: { selector: LabelSelector } }
  | { kind: 'ConfigMap'; metadata: Meta; data: Record<string, string> }
  | { kind: 'PrometheusRule'; metadata: Meta; spec: unknown }
  | { kind: 'Ingress' | 'ServiceMonitor' | 'ServiceAccount' | 'Secret'; metadata: Meta; spec?: unknown };

let helm: string;
let kubecheck: string;

async function tool(name: string): Promise<string> {
  const { stdout } = await execFileAsync('bash', [path.join(ROOT, 'test', 'e2e', 'tools', 'build.sh'), name], {
    timeout: BUILD_TIMEOUT_MS - 10_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout.trim();
}

/** `helm template` with the given values files and --set flags, then kubecheck; the decoded objects. */
async function render(valuesFiles: string[], set: string[] = []): Promise<K8sObject[]> {
  const args = ['template', 'ali', CHART_DIR, ...valuesFiles.flatMap((f) => ['-f', f]), ...set.flatMap((s) => ['--set', s])];
  const { stdout: manifests } = await execFileAsync(helm, args, { maxBuffer: 32 * 1024 * 1024, timeout: 60_000 });
  return checked(manifests);
}

function checked(manifests: string): Promise<K8sObject[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(kubecheck, [], { maxBuffer: 32 * 1024 * 1024, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(stderr.trim() || err.message));
      else resolve(JSON.parse(stdout) as K8sObject[]);
    });
    child.stdin?.end(manifests);
  });
}

const matches = (selector: LabelSelector | Record<string, string> | undefined, labels: Record<string, string> | undefined) => {
  const wanted = (selector && 'matchLabels' in selector ? selector.matchLabels : selector) as Record<string, string> | undefined;
  return !!wanted && Object.keys(wanted).length > 0 && Object.entries(wanted).every(([k, v]) => labels?.[k] === v);
};
const ofKind = <K extends K8sObject['kind']>(objects: K8sObject[], kind: K) => objects.filter((o): o is Extract<K8sObject, { kind: K }> => o.kind === kind);
const envOf = (c: Container, name: string) => c.env?.find((e) => e.name === name);

const VALUES = path.join(CHART_DIR, 'values.yaml');
const VALUES_DEV = path.join(CHART_DIR, 'values-dev.yaml');
const APP_COMPONENTS = ['gateway', ...SUBGRAPH_NAMES] as const;

beforeAll(async () => {
  [helm, kubecheck] = [await tool('helm'), await tool('kubecheck')];
}, BUILD_TIMEOUT_MS);

describe('the chart', () => {
  it.each([['values.yaml', [VALUES]], ['values-dev.yaml', [VALUES_DEV]]])('passes helm lint --strict with %s', async (_name, files) => {
    const { stdout } = await execFileAsync(helm, ['lint', '--strict', CHART_DIR, ...files.flatMap((f) => ['-f', f])], { timeout: 60_000 });
    expect(stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('refuses values the schema does not allow, before rendering anything', async () => {
    await expect(render([], ['image.tag=latest'])).rejects.toThrow(/image\/tag/);
    await expect(render([], ['gateway.replicaz=3'])).rejects.toThrow(/additional properties 'replicaz' not allowed/);
    await expect(render([], ['gateway.resources.limits.memory=lots'])).rejects.toThrow(/memory/);
    await expect(render([], ['subgraphs.alliances.extraEnv.lower_case=1'])).rejects.toThrow(/lower_case/);
    // A variable the chart sets from other values cannot be set twice through extraEnv.
    await expect(render([], ['gateway.extraEnv.MONGODB_URI=mongodb://elsewhere'])).rejects.toThrow(/invalid propertyName 'MONGODB_URI'/);
  });

  it('values docs (README.md) are generated from the current schema and values', () => {
    expect(readFileSync(path.join(CHART_DIR, 'README.md'), 'utf8'), 'run npm run helm:docs').toBe(renderChartReadme());
  });
});

describe('kubecheck (so that the validation is real)', () => {
  const base = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  ports:\n    - port: 80\n';
  it('accepts a valid object and refuses unknown fields, kinds, duplicate keys and bad values', async () => {
    expect(await checked(base)).toHaveLength(1);
    await expect(checked(base.replace('  ports:', '  portz:'))).rejects.toThrow(/unknown field "spec.portz"/);
    await expect(checked(base.replace('apiVersion: v1', 'apiVersion: v2'))).rejects.toThrow(/no kind "Service" is registered for version "v2"/);
    await expect(checked(base.replace('kind: Service', 'kind: Service\nkind: Service'))).rejects.toThrow(/duplicate|already set/);
    await expect(checked(base.replace('port: 80', 'port: eighty'))).rejects.toThrow(/port/);
    await expect(checked(base.replace('name: x', 'name: Not_A_Name'))).rejects.toThrow(/metadata.name/);
    const deployment = readFileSync(path.join(CHART_DIR, 'templates', 'gateway.yaml'), 'utf8');
    expect(deployment).toContain('readinessProbe:');
    const rendered = (await execFileAsync(helm, ['template', 'ali', CHART_DIR], { maxBuffer: 32 * 1024 * 1024 })).stdout;
    await expect(checked(rendered.replace('readinessProbe:', 'readinesProbe:'))).rejects.toThrow(/unknown field ".*readinesProbe"/);
  });
});

describe.each([
  ['values.yaml', [VALUES], [] as string[]],
  ['values-dev.yaml', [VALUES_DEV], [] as string[]],
  ['every option on', [VALUES], ['ingress.enabled=true', 'serviceMonitor.enabled=true', 'prometheusRule.enabled=true', 'grafanaDashboard.enabled=true', 'image.digest=sha256:' + 'a'.repeat(64), 'supergraph.existingConfigMap=my-supergraph', 'gateway.autoscaling.enabled=false', 'gateway.extraEnv.RATE_LIMITS=off']],
])('rendered with %s', (_name, files, set) => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await render(files, set);
  }, 120_000);
  const deployments = () => ofKind(objects, 'Deployment');
  const deployment = (component: string) => {
    const d = deployments().find((o) => o.spec.template.metadata.labels?.['app.kubernetes.io/component'] === component);
    if (!d) throw new Error(`no Deployment for ${component}`);
    return d;
  };

  it('has a Deployment and a Service for the gateway and each subgraph, and the Service reaches the pods', () => {
    for (const component of APP_COMPONENTS) {
      const d = deployment(component);
      expect(matches(d.spec.selector, d.spec.template.metadata.labels), component).toBe(true);
      const services = ofKind(objects, 'Service').filter((s) => matches(s.spec.selector, d.spec.template.metadata.labels));
      expect(services, component).toHaveLength(1);
      const ports = d.spec.template.spec.containers[0]!.ports ?? [];
      for (const p of services[0]!.spec.ports) expect(ports.map((cp) => cp.name), component).toContain(p.targetPort);
      expect(d.spec.template.spec.containers[0]!.command, component).toEqual(['node', component === 'gateway' ? 'dist/gateway/index.js' : `dist/subgraphs/${component}/index.js`]);
    }
  });

  it('every container has probes, requests and limits, runs as non-root on a read-only root file system with no capabilities, from a pinned image', () => {
    expect(deployments().length).toBeGreaterThanOrEqual(APP_COMPONENTS.length);
    for (const d of deployments()) {
      const pod = d.spec.template.spec;
      expect(pod.securityContext?.runAsNonRoot, d.metadata.name).toBe(true);
      expect(pod.securityContext?.runAsUser, d.metadata.name).toBeGreaterThan(0);
      expect(pod.automountServiceAccountToken, d.metadata.name).toBe(false);
      for (const c of pod.containers) {
        const where = `${d.metadata.name}/${c.name}`;
        expect(c.readinessProbe, where).toBeDefined();
        expect(c.livenessProbe, where).toBeDefined();
        for (const kind of ['requests', 'limits'] as const) {
          expect(Object.keys(c.resources?.[kind] ?? {}).sort(), `${where} ${kind}`).toEqual(['cpu', 'memory']);
        }
        expect(c.securityContext, where).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
        expect(c.securityContext?.capabilities?.drop, where).toEqual(['ALL']);
        expect(c.securityContext?.capabilities?.add ?? [], where).toEqual([]);
        expect(c.image, where).toMatch(/^[^:@\s]+(:[A-Za-z0-9_][A-Za-z0-9_.-]*|@sha256:[a-f0-9]{64})$/);
        expect(c.image, where).not.toMatch(/:latest$/);
      }
    }
  });

  it('probes /ready for readiness and /health for liveness on the gateway and each subgraph', () => {
    for (const component of APP_COMPONENTS) {
      const c = deployment(component).spec.template.spec.containers[0]!;
      expect(c.readinessProbe?.httpGet?.path, component).toBe('/ready');
      expect(c.livenessProbe?.httpGet?.path, component).toBe('/health');
    }
  });

  it("terminates gracefully: preStop, then the gateway's drain (SHUTDOWN_GRACE_MS), within terminationGracePeriodSeconds", () => {
    for (const component of APP_COMPONENTS) {
      const pod = deployment(component).spec.template.spec;
      const c = pod.containers[0]!;
      const sleep = c.lifecycle?.preStop?.exec?.command;
      expect(sleep?.[0], component).toBe('sleep');
      const drainMs = component === 'gateway' ? Number(envOf(c, 'SHUTDOWN_GRACE_MS')?.value) : 2000;
      expect(drainMs, component).toBeGreaterThan(0);
      expect(pod.terminationGracePeriodSeconds, component).toBeGreaterThan(Number(sleep?.[1]) + drainMs / 1000);
    }
  });

  it('only gateway pods may reach the subgraphs (NetworkPolicy)', () => {
    const gatewayLabels = deployment('gateway').spec.template.metadata.labels;
    for (const name of SUBGRAPH_NAMES) {
      const labels = deployment(name).spec.template.metadata.labels;
      const policies = ofKind(objects, 'NetworkPolicy').filter((p) => matches(p.spec.podSelector, labels));
      expect(policies.length, name).toBeGreaterThan(0);
      for (const p of policies) {
        expect(p.spec.policyTypes, name).toContain('Ingress');
        for (const rule of p.spec.ingress ?? []) {
          expect(rule.from?.length, `${name}: a rule without "from" admits everyone`).toBeGreaterThan(0);
          for (const peer of rule.from ?? []) {
            expect(peer.namespaceSelector, name).toBeUndefined();
            expect(matches(peer.podSelector, gatewayLabels), name).toBe(true);
            expect(matches(peer.podSelector, labels), name).toBe(false);
          }
        }
      }
    }
  });

  it('has an HPA (when enabled) and a PDB that select existing Deployments', () => {
    for (const hpa of ofKind(objects, 'HorizontalPodAutoscaler')) {
      expect(deployments().map((d) => d.metadata.name)).toContain(hpa.spec.scaleTargetRef.name);
      expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    }
    for (const pdb of ofKind(objects, 'PodDisruptionBudget')) {
      expect(deployments().filter((d) => matches(pdb.spec.selector, d.spec.template.metadata.labels))).toHaveLength(1);
    }
  });

  it('serves the supergraph from a ConfigMap mounted as a folder (no subPath, so updates reach the pod)', () => {
    const pod = deployment('gateway').spec.template.spec;
    const c = pod.containers[0]!;
    const file = envOf(c, 'SUPERGRAPH_PATH')?.value ?? '';
    expect(envOf(c, 'SUPERGRAPH_WATCH')?.value).toBe('true');
    const mount = c.volumeMounts?.find((m) => file.startsWith(`${m.mountPath}/`));
    expect(mount?.subPath).toBeUndefined();
    const volume = pod.volumes?.find((v) => v.name === mount?.name);
    expect(volume?.configMap?.name).toBeDefined();
    const configMap = ofKind(objects, 'ConfigMap').find((m) => m.metadata.name === volume?.configMap?.name);
    if (set.some((s) => s.startsWith('supergraph.existingConfigMap='))) {
      expect(configMap).toBeUndefined();
      expect(volume?.configMap?.name).toBe('my-supergraph');
    } else {
      expect(configMap?.data[path.basename(file)]).toBe(readFileSync(path.join(ROOT, 'schema', 'supergraph.graphql'), 'utf8').trimEnd());
    }
  });

  it("points the gateway at each subgraph's Service and configures only variables lib/config.ts knows", () => {
    const gateway = deployment('gateway').spec.template.spec.containers[0]!;
    for (const name of SUBGRAPH_NAMES) {
      const service = ofKind(objects, 'Service').find((s) => matches(s.spec.selector, deployment(name).spec.template.metadata.labels))!;
      expect(envOf(gateway, `SUBGRAPH_${name.toUpperCase()}_URL`)?.value).toBe(`http://${service.metadata.name}:${service.spec.ports[0]!.port}/graphql`);
    }
    for (const component of APP_COMPONENTS) {
      const env = deployment(component).spec.template.spec.containers[0]!.env ?? [];
      for (const e of env) expect(Object.keys(configSpec), `${component}: ${e.name}`).toContain(e.name);
      expect(new Set(env.map((e) => e.name)).size, `${component}: a variable set twice`).toBe(env.length);
    }
    expect(envOf(gateway, 'RATE_LIMITS')?.value).toBe(set.includes('gateway.extraEnv.RATE_LIMITS=off') ? 'off' : undefined);
  });

  it('gives the gateway an explicit anonymous scope, and serves /metrics on its own port, which the ServiceMonitor scrapes and the NetworkPolicy opens', () => {
    const gateway = deployment('gateway');
    const c = gateway.spec.template.spec.containers[0]!;
    expect(envOf(c, 'ANONYMOUS_SCOPE')?.value).toBe('*');
    const metricsPort = c.ports?.find((p) => p.name === 'metrics')?.containerPort;
    expect(envOf(c, 'METRICS_PORT')?.value).toBe(String(metricsPort));
    const service = ofKind(objects, 'Service').find((s) => matches(s.spec.selector, gateway.spec.template.metadata.labels))!;
    expect(service.spec.ports.map((p) => p.targetPort)).toEqual(['http', 'metrics']);
    for (const monitor of objects.filter((o) => o.kind === 'ServiceMonitor')) {
      expect((monitor as { spec?: unknown }).spec).toMatchObject({ endpoints: [{ port: 'metrics', path: '/metrics' }] });
    }
    const policy = ofKind(objects, 'NetworkPolicy').find((p) => matches(p.spec.podSelector, gateway.spec.template.metadata.labels));
    if (policy) expect(JSON.stringify(policy.spec)).toContain('"port":"metrics"');
  });

  it('reads the signing secret from an existing Secret and creates no Secret', () => {
    expect(ofKind(objects, 'Secret')).toEqual([]);
    const dev = files.includes(VALUES_DEV);
    for (const component of APP_COMPONENTS) {
      const c = deployment(component).spec.template.spec.containers[0]!;
      expect(envOf(c, 'GATEWAY_SIGNING_SECRET')?.valueFrom?.secretKeyRef, component).toEqual({ name: 'ali-graph', key: 'GATEWAY_SIGNING_SECRET' });
      if (dev) {
        expect(envOf(c, 'MONGODB_URI')?.value, component).toMatch(/^mongodb:\/\/ali-ali-graph-mongodb:27017\//);
        expect(envOf(c, 'REDIS_URL')?.value, component).toBe('redis://ali-ali-graph-redis:6379');
      } else {
        expect(envOf(c, 'MONGODB_URI')?.valueFrom?.secretKeyRef, component).toEqual({ name: 'ali-graph', key: 'MONGODB_URI' });
        expect(envOf(c, 'REDIS_URL')?.valueFrom?.secretKeyRef, component).toEqual({ name: 'ali-graph', key: 'REDIS_URL' });
      }
    }
    const stores = deployments().map((d) => d.spec.template.metadata.labels?.['app.kubernetes.io/component']);
    expect(stores.includes('mongodb') && stores.includes('redis')).toBe(dev);
  });

  it('renders the Ingress, the ServiceMonitor, the alerting rules and the dashboard only when asked, from the repository files', () => {
    const on = set.includes('ingress.enabled=true');
    expect(ofKind(objects, 'Ingress')).toHaveLength(on ? 1 : 0);
    expect(ofKind(objects, 'ServiceMonitor')).toHaveLength(on ? 1 : 0);
    expect(ofKind(objects, 'PrometheusRule').map((r) => r.spec)).toEqual(
      on ? [parse(readFileSync(path.join(ROOT, 'deploy', 'prometheus', 'ali-graph.rules.yaml'), 'utf8'))] : [],
    );
    const dashboard = ofKind(objects, 'ConfigMap').find((m) => m.metadata.labels?.['grafana_dashboard'] === '1');
    expect(dashboard?.data['ali-graph.json']).toBe(on ? readFileSync(path.join(ROOT, 'deploy', 'grafana', 'ali-graph.json'), 'utf8').trimEnd() : undefined);
  });
});

describe('the values schema', () => {
  it('documents every key of values.yaml (additionalProperties: false everywhere)', async () => {
    // A key the schema does not name is refused, so rendering values.yaml itself proves the point;
    // an extra file with a key outside the schema must fail.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ali-helm-values-'));
    try {
      const extra = path.join(dir, 'extra.yaml');
      writeFileSync(extra, 'dev:\n  mongodb:\n    persistence: true\n');
      await expect(render([extra])).rejects.toThrow(/persistence/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The Helm chart (deploy/helm/switchyard), offline: values files against
 * values.schema.json (ajv), templates rendered by our renderer for Helm's subset
 * (helm-render.ts), every manifest validated against the Kubernetes (and
 * prometheus-operator) schemas from kubernetes-models, plus what each must do.
 */
import Ajv from "ajv";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { Job } from "kubernetes-models/batch/v1/Job";
import { PersistentVolumeClaim } from "kubernetes-models/v1/PersistentVolumeClaim";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { mergeValues, renderTemplate, type RenderContext } from "./helm-render";

const chartDir = path.resolve(import.meta.dirname, "../../deploy/helm/switchyard");
const readYaml = (p: string) => parse(readFileSync(path.join(chartDir, p), "utf8")) as Record<string, unknown>;
const defaults = readYaml("values.yaml");
const chart = readYaml("Chart.yaml") as { name: string; version: string; appVersion: string };
const schema = JSON.parse(readFileSync(path.join(chartDir, "values.schema.json"), "utf8")) as object;
const validateValues = new Ajv({ allErrors: true }).compile(schema);

type Manifest = { apiVersion: string; kind: string; metadata: { name: string; annotations?: Record<string, string> }; spec?: any; stringData?: Record<string, string> }; // eslint-disable-line @typescript-eslint/no-explicit-any

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  "apps/v1/Deployment": Deployment,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "batch/v1/Job": Job,
  "v1/PersistentVolumeClaim": PersistentVolumeClaim,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "networking.k8s.io/v1/Ingress": Ingress,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
};

function values(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return mergeValues(defaults, overrides) as Record<string, unknown>;
}

/** Renders every template like `helm template rel .` and validates each manifest. */
function render(vals: Record<string, unknown>): Manifest[] {
  if (!validateValues(vals)) throw new Error(`values.schema.json: ${JSON.stringify(validateValues.errors)}`);
  const ctx: RenderContext = { Values: vals, Release: { Name: "rel", Namespace: "default", Service: "Helm" }, Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion } };
  const out: Manifest[] = [];
  for (const file of readdirSync(path.join(chartDir, "templates")).sort()) {
    const text = renderTemplate(readFileSync(path.join(chartDir, "templates", file), "utf8"), ctx);
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0]!.message}\n${text}`);
      const m = doc.toJS() as Manifest | null;
      if (!m) continue;
      const Model = MODELS[`${m.apiVersion}/${m.kind}`];
      if (!Model) throw new Error(`${file}: no schema for ${m.apiVersion} ${m.kind}`);
      new Model(m as never).validate();
      out.push(m);
    }
  }
  return out;
}

const byKind = (ms: Manifest[], kind: string) => ms.filter((m) => m.kind === kind);
const one = (ms: Manifest[], kind: string) => {
  const found = byKind(ms, kind);
  expect(found, kind).toHaveLength(1);
  return found[0]!;
};
const pg = { database: { url: "postgresql://u:p@pg:5432/sy" }, auth: { secret: "s".repeat(48) } };

describe("values", () => {
  it("the defaults and both examples satisfy values.schema.json", () => {
    expect(validateValues(defaults)).toBe(true);
    for (const f of readdirSync(path.join(chartDir, "examples"))) {
      const v = values(readYaml(`examples/${f}`));
      expect(validateValues(v), `${f}: ${JSON.stringify(validateValues.errors)}`).toBe(true);
    }
  });

  it("the schema rejects what the app would refuse", () => {
    for (const bad of [{ basePath: "llm" }, { publicUrl: "https://x.example/path" }, { auth: { secret: "short" } }, { database: { url: "mysql://x" } }, { redis: { failMode: "sometimes" } }, { replicas: 2 }]) {
      expect(validateValues(values(bad)), JSON.stringify(bad)).toBe(false);
    }
  });
});

describe("rendered manifests (validated against Kubernetes schemas)", () => {
  it("a Deployment with the three probes on the base path, graceful shutdown and a locked-down pod", () => {
    const ms = render(values(pg));
    const dep = one(ms, "Deployment");
    expect(dep.spec.replicas).toBe(2);
    const pod = dep.spec.template.spec;
    const c = pod.containers[0];
    expect(c.readinessProbe.httpGet).toEqual({ path: "/llm/api/health?ready", port: "http" });
    expect(c.livenessProbe.httpGet).toEqual({ path: "/llm/api/health", port: "http" });
    expect(c.startupProbe.httpGet).toEqual({ path: "/llm/api/health", port: "http" });
    expect(c.lifecycle.preStop.exec.command).toEqual(["sleep", "5"]);
    expect(pod.terminationGracePeriodSeconds).toBe(60);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(c.image).toBe(`switchyard:${chart.appVersion}`);
    const env = Object.fromEntries(c.env.map((e: { name: string; value: string }) => [e.name, e.value]));
    expect(env).toMatchObject({ BASE_PATH: "/llm", PUBLIC_URL: "https://gateway.example.com", TRUST_PROXY: "1", SWITCHYARD_SKIP_MIGRATE: "1" });
    expect(c.envFrom).toEqual([{ secretRef: { name: "rel-switchyard" } }]);
    expect(pod.volumes).toContainEqual({ name: "data", emptyDir: {} });
    expect(c.volumeMounts.map((m: { mountPath: string }) => m.mountPath).sort()).toEqual(["/data", "/tmp"]);
    const svc = one(ms, "Service");
    expect(svc.spec.selector).toEqual(dep.spec.selector.matchLabels);
    expect(one(ms, "PodDisruptionBudget").spec.minAvailable).toBe(1);
  });

  it("secrets and the migrations hook: the Secret exists before the Job, the Job runs the image's migrate-only start", () => {
    const ms = render(values(pg));
    const secret = one(ms, "Secret");
    expect(secret.stringData).toEqual({ AUTH_SECRET: "s".repeat(48), DATABASE_URL: "postgresql://u:p@pg:5432/sy" });
    const job = one(ms, "Job");
    expect(Number(secret.metadata.annotations!["helm.sh/hook-weight"])).toBeLessThan(Number(job.metadata.annotations!["helm.sh/hook-weight"]));
    expect(job.metadata.annotations!["helm.sh/hook"]).toBe("pre-install,pre-upgrade");
    const c = job.spec.template.spec.containers[0];
    expect(c.env).toContainEqual({ name: "SWITCHYARD_MIGRATE_ONLY", value: "1" });
    expect(c.envFrom).toEqual([{ secretRef: { name: "rel-switchyard" } }]);
    // with an existing Secret the chart makes none and everything reads that one
    const ext = render(values({ auth: { existingSecret: "mine" } }));
    expect(byKind(ext, "Secret")).toHaveLength(0);
    expect(one(ext, "Deployment").spec.template.spec.containers[0].envFrom).toEqual([{ secretRef: { name: "mine" } }]);
  });

  it("refuses SQLite with several replicas, a migrations Job without a database, and a missing secret", () => {
    expect(() => render(values({ auth: { secret: "s".repeat(48) } }))).toThrow(/SQLite .* one replica only/);
    expect(() => render(values({ auth: { secret: "s".repeat(48) }, replicaCount: 1 }))).toThrow(/migrations.job needs an external database/);
    const sqlite = render(values({ auth: { secret: "s".repeat(48) }, replicaCount: 1, migrations: { job: false }, persistence: { enabled: true } }));
    expect(byKind(sqlite, "Job")).toHaveLength(0);
    expect(byKind(sqlite, "PodDisruptionBudget")).toHaveLength(0);
    const env = one(sqlite, "Deployment").spec.template.spec.containers[0].env.map((e: { name: string }) => e.name);
    expect(env).not.toContain("SWITCHYARD_SKIP_MIGRATE");
    expect(one(sqlite, "PersistentVolumeClaim").metadata.annotations!["helm.sh/resource-policy"]).toBe("keep");
    expect(() => render(values({ database: pg.database }))).toThrow(/auth.secret .* or auth.existingSecret is required/);
  });

  it("gateway-only example: ingress at the sub-path with streaming annotations, HPA with slow scale-down, ServiceMonitor", () => {
    const ms = render(values(readYaml("examples/gateway-only.yaml")));
    const ing = one(ms, "Ingress");
    expect(ing.spec.rules[0].http.paths[0]).toMatchObject({ path: "/llm", pathType: "Prefix" });
    expect(ing.metadata.annotations).toMatchObject({ "nginx.ingress.kubernetes.io/proxy-buffering": "off", "nginx.ingress.kubernetes.io/proxy-read-timeout": "600" });
    expect(ing.spec.tls).toEqual([{ hosts: ["gateway.example.com"], secretName: "gateway-example-com-tls" }]);
    const hpa = one(ms, "HorizontalPodAutoscaler");
    expect(hpa.spec).toMatchObject({ minReplicas: 3, maxReplicas: 10, behavior: { scaleDown: { stabilizationWindowSeconds: 300 } } });
    expect(one(ms, "Deployment").spec.replicas).toBeUndefined();
    const sm = one(ms, "ServiceMonitor");
    expect(sm.spec.endpoints[0]).toMatchObject({ port: "http", path: "/llm/metrics", bearerTokenSecret: { name: "switchyard-secrets", key: "METRICS_TOKEN" } });
    expect(byKind(ms, "PersistentVolumeClaim")).toHaveLength(0);
    expect(byKind(ms, "Secret")).toHaveLength(0);
  });

  it("GPU example: a GPU per pod, GPU nodes and their taint, LLAMA_GPU and a shared model volume", () => {
    const ms = render(values(readYaml("examples/gpu-local-models.yaml")));
    const pod = one(ms, "Deployment").spec.template.spec;
    const c = pod.containers[0];
    expect(c.resources.limits["nvidia.com/gpu"]).toBe(1);
    expect(pod.nodeSelector).toEqual({ "nvidia.com/gpu.present": "true" });
    expect(pod.tolerations).toEqual([{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
    expect(c.env).toContainEqual({ name: "LLAMA_GPU", value: "auto" });
    expect(c.env).toContainEqual({ name: "LLAMA_THREADS", value: "4" });
    expect(pod.volumes).toContainEqual({ name: "data", persistentVolumeClaim: { claimName: "rel-switchyard-data" } });
    expect(one(ms, "PersistentVolumeClaim").spec).toMatchObject({ accessModes: ["ReadWriteMany"], storageClassName: "shared-nfs", resources: { requests: { storage: "200Gi" } } });
    expect(one(ms, "Secret").stringData).toMatchObject({ REDIS_URL: "redis://redis.db.svc:6379/0" });
  });

  it("the Kubernetes schemas do catch a broken manifest", () => {
    const dep = one(render(values(pg)), "Deployment");
    dep.spec.template.spec.containers[0].ports[0].containerPort = "http";
    expect(() => new Deployment(dep as never).validate()).toThrow();
  });
});

describe("helm-render", () => {
  const ctx = (v: Record<string, unknown>): RenderContext => ({ Values: v, Release: { Name: "r", Namespace: "n" }, Chart: { Name: "c", Version: "1", AppVersion: "2" } });
  it("if/else if/else, with, range, pipelines, trimming and Go truthiness", () => {
    const t = `a:{{- if .Values.x }} x{{ else if .Values.y }} y{{ else }} z{{ end }}
{{- with .Values.m }}
m: {{ .k | quote }}{{ end }}
{{- range .Values.l }}
- {{ . }}{{ end }}
d: {{ .Values.none | default .Chart.AppVersion }} {{ printf "%s-%d" .Release.Name 3 }}
y: {{- toYaml .Values.m | nindent 2 }}
{{- /* gone */ -}}`;
    expect(renderTemplate(t, ctx({ x: 0, y: "", m: { k: 1 }, l: ["p", "q"] }))).toBe("a: z\nm: \"1\"\n- p\n- q\nd: 2 r-3\ny:\n  k: 1");
    expect(renderTemplate("{{ if and .Values.a (not .Values.b) }}yes{{ end }}", ctx({ a: [1], b: {} }))).toBe("yes");
    expect(renderTemplate("{{ if or (gt .Values.n 1) .Values.e }}yes{{ else }}no{{ end }}", ctx({ n: 1, e: false }))).toBe("no");
  });
  it("throws on what it does not support and on required/fail", () => {
    expect(() => renderTemplate('{{ include "x" . }}', ctx({}))).toThrow(/unsupported/);
    expect(() => renderTemplate("{{ $x := 1 }}", ctx({}))).toThrow(/unsupported/);
    expect(() => renderTemplate("{{ lower .Values.a }}", ctx({ a: "A" }))).toThrow(/unsupported function lower/);
    expect(() => renderTemplate('{{ required "need a" .Values.a }}', ctx({}))).toThrow("required: need a");
    expect(() => renderTemplate("{{ if .Values.a }}", ctx({}))).toThrow(/missing \{\{ end \}\}/);
  });
  it("merges values like Helm: maps deep, lists replace, null deletes", () => {
    expect(mergeValues({ a: { b: 1, c: 2 }, l: [1, 2], d: 1 }, { a: { c: 3 }, l: [9], d: null })).toEqual({ a: { b: 1, c: 3 }, l: [9], d: undefined });
  });
});

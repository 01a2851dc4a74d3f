/**
 * deploy/kubernetes against the code, without a cluster: the manifests are
 * parsed and compared with the routes the probes call, the PORT the server
 * listens on, the variables AppConfig.ts reads, the drain time, and each
 * other (the labels the Service, PDB and HPA select by). The kustomizations
 * are resolved by hand: their resources and, for the polling variant, its
 * JSON patches.
 */
import { existsSync, readFileSync } from "node:fs"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { parse } from "yaml"

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url))
const read = (relative: string) => readFileSync(path.join(repoRoot, relative), "utf8")
const folder = "deploy/kubernetes"

// --- the manifests ------------------------------------------------------------

interface Manifest {
  readonly apiVersion: string
  readonly kind: string
  readonly metadata: { readonly name: string; readonly labels?: Record<string, string> }
  readonly [field: string]: unknown
}

interface Kustomization {
  readonly resources?: ReadonlyArray<string>
  readonly patches?: ReadonlyArray<{
    readonly target: { readonly kind: string; readonly name: string }
    readonly patch: string
  }>
  readonly images?: ReadonlyArray<{ readonly name: string }>
}

interface JsonPatchOperation {
  readonly op: "replace" | "add"
  readonly path: string
  readonly value: unknown
}

/** Sets `path` (a JSON pointer) in a copy of `document`. */
const applyOperation = (document: unknown, operation: JsonPatchOperation): unknown => {
  const copy = structuredClone(document) as Record<string, unknown>
  const keys = operation.path.split("/").slice(1)
  let node = copy
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>
  const last = keys.at(-1)!
  assert.isTrue(operation.op === "add" || last in node, `${operation.path} exists before it is replaced`)
  node[last] = operation.value
  return copy
}

/** The manifests a kustomization folder renders: its resources (files or folders), patched. */
const render = (relative: string): ReadonlyArray<Manifest> => {
  const kustomization = parse(read(`${relative}/kustomization.yaml`)) as Kustomization
  const manifests: Array<Manifest> = []
  for (const resource of kustomization.resources ?? []) {
    const target = path.posix.join(relative, resource)
    assert.isTrue(existsSync(path.join(repoRoot, target)), `${target} (a resource of ${relative}) exists`)
    if (existsSync(path.join(repoRoot, target, "kustomization.yaml"))) manifests.push(...render(target))
    else manifests.push(parse(read(target)) as Manifest)
  }
  return manifests.map((manifest) =>
    (kustomization.patches ?? [])
      .filter(({ target }) => target.kind === manifest.kind && target.name === manifest.metadata.name)
      .flatMap(({ patch }) => parse(patch) as ReadonlyArray<JsonPatchOperation>)
      .reduce<Manifest>((patched, operation) => applyOperation(patched, operation) as Manifest, manifest)
  )
}

const only = (manifests: ReadonlyArray<Manifest>, kind: string): Manifest => {
  const found = manifests.filter((manifest) => manifest.kind === kind)
  assert.strictEqual(found.length, 1, `one ${kind}`)
  return found[0]!
}
const maybe = (manifests: ReadonlyArray<Manifest>, kind: string) =>
  manifests.find((manifest) => manifest.kind === kind)

interface Probe {
  readonly httpGet: { readonly path: string; readonly port: string | number }
}
interface Container {
  readonly name: string
  readonly image: string
  readonly ports: ReadonlyArray<{ readonly name: string; readonly containerPort: number }>
  readonly envFrom?: ReadonlyArray<{ readonly configMapRef?: { readonly name: string } }>
  readonly env?: ReadonlyArray<{
    readonly name: string
    readonly value?: string
    readonly valueFrom?: { readonly secretKeyRef?: { readonly name: string; readonly key: string } }
  }>
  readonly readinessProbe: Probe
  readonly livenessProbe: Probe
  readonly startupProbe?: Probe
  readonly lifecycle?: { readonly preStop?: { readonly exec?: { readonly command: ReadonlyArray<string> } } }
  readonly resources: { readonly requests: { readonly cpu: string } }
}
interface DeploymentSpec {
  readonly replicas: number
  readonly strategy: { readonly type: string }
  readonly selector: { readonly matchLabels: Record<string, string> }
  readonly template: {
    readonly metadata: { readonly labels: Record<string, string> }
    readonly spec: {
      readonly terminationGracePeriodSeconds: number
      readonly containers: ReadonlyArray<Container>
    }
  }
}

const deploymentSpec = (manifests: ReadonlyArray<Manifest>) =>
  only(manifests, "Deployment").spec as DeploymentSpec
const server = (manifests: ReadonlyArray<Manifest>) => {
  const containers = deploymentSpec(manifests).template.spec.containers
  assert.strictEqual(containers.length, 1, "one container: the server")
  return containers[0]!
}
const configData = (manifests: ReadonlyArray<Manifest>) =>
  (only(manifests, "ConfigMap").data ?? {}) as Record<string, string>

/** Whether every label `selector` asks for is on `labels`. */
const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => labels[key] === value)

// --- the code's side ------------------------------------------------------------

const appConfig = read("packages/server/src/config/AppConfig.ts")
/** Every `variable("NAME", …)` that AppConfig reads: the contract's variables. */
const appConfigVariables: ReadonlyArray<string> = [
  ...appConfig.matchAll(/\bvariable\(\s*"([A-Z][A-Z0-9_]*)"/g)
].map((match) => match[1] as string)
const isServerVariable = (name: string) => appConfigVariables.includes(name) || name.startsWith("OTEL_")

/** A variable's default in AppConfig.ts: `withDefault(variable("NAME", …), 25)`. */
const numericDefault = (name: string) => {
  const match = new RegExp(`withDefault\\(\\s*variable\\("${name}",[^)]*\\)\\)?,\\s*([0-9_]+)\\)`).exec(
    appConfig
  )
  assert.isNotNull(match, `AppConfig.ts gives ${name} a numeric default`)
  return Number(match![1]!.replaceAll("_", ""))
}

/** Paths the HTTP server answers GET on, from the health routes. */
const healthRoutes = read("packages/server/src/http/HealthRoutes.ts")
const servesGet = (route: string) =>
  new RegExp(`router\\.add\\(\\s*"GET",\\s*"${route.replaceAll("/", "\\/")}"`).test(healthRoutes)

/** The secrets the issue names: they come from the Secret, never from the ConfigMap. */
const SECRETS = [
  "SECRETS_KEY",
  "DATABASE_URL",
  "OPENAI_API_KEY",
  "ADMIN_EMAIL",
  "ADMIN_PASSWORD",
  "METRICS_TOKEN"
]

// --- the checks ------------------------------------------------------------------

const webhooks = render(folder)
const polling = render(`${folder}/polling`)

describe("deploy/kubernetes", () => {
  for (const [variant, manifests] of [
    ["webhooks", webhooks],
    ["polling", polling]
  ] as const) {
    describe(variant, () => {
      it("probes: readiness on /ready, liveness on /health, on the port the server listens on", () => {
        const container = server(manifests)
        assert.strictEqual(container.readinessProbe.httpGet.path, "/ready")
        assert.strictEqual(container.livenessProbe.httpGet.path, "/health")
        assert.isTrue(servesGet("/ready") && servesGet("/health"), "HealthRoutes.ts serves both")
        const port = Number(configData(manifests).PORT ?? numericDefault("PORT"))
        for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe]) {
          if (probe === undefined) continue
          const named = probe.httpGet.port
          const number =
            typeof named === "number" ? named : container.ports.find((p) => p.name === named)?.containerPort
          assert.strictEqual(number, port, `probe ${probe.httpGet.path} goes to PORT ${port}`)
        }
      })

      it("every variable set is one AppConfig.ts reads; the secrets come from the Secret", () => {
        const container = server(manifests)
        const data = configData(manifests)
        assert.deepStrictEqual(
          container.envFrom?.map((source) => source.configMapRef?.name),
          [only(manifests, "ConfigMap").metadata.name],
          "the ConfigMap is the container's environment"
        )
        for (const name of Object.keys(data)) {
          assert.isTrue(isServerVariable(name), `ConfigMap ${name} is read by AppConfig.ts`)
          assert.notInclude(SECRETS, name, `${name} is a secret, not configuration`)
        }
        const secret = parse(read(`${folder}/secret.example.yaml`)) as Manifest & {
          readonly stringData: Record<string, string>
        }
        const fromSecret = new Map<string, string>()
        for (const variable of container.env ?? []) {
          assert.isTrue(isServerVariable(variable.name), `env ${variable.name} is read by AppConfig.ts`)
          const ref = variable.valueFrom?.secretKeyRef
          assert.isDefined(ref, `${variable.name} comes from a Secret`)
          assert.strictEqual(ref!.name, secret.metadata.name, "the Secret of secret.example.yaml")
          assert.property(secret.stringData, ref!.key, `secret.example.yaml has ${ref!.key}`)
          fromSecret.set(variable.name, ref!.key)
        }
        for (const name of SECRETS) assert.strictEqual(fromSecret.get(name), name, `${name} from the Secret`)
      })

      it("the pod gets longer than SHUTDOWN_GRACE_SECONDS (and the preStop pause) to stop", () => {
        const spec = deploymentSpec(manifests)
        const drain = Number(
          configData(manifests).SHUTDOWN_GRACE_SECONDS ?? numericDefault("SHUTDOWN_GRACE_SECONDS")
        )
        const command = server(manifests).lifecycle?.preStop?.exec?.command ?? []
        const pause = command[0] === "sleep" ? Number(command[1]) : 0
        assert.isAbove(spec.template.spec.terminationGracePeriodSeconds, drain + pause)
      })

      it("the Deployment selects its own pods; the Service selects them and names their port", () => {
        const spec = deploymentSpec(manifests)
        const labels = spec.template.metadata.labels
        assert.isTrue(selects(spec.selector.matchLabels, labels))
        const service = only(manifests, "Service").spec as {
          readonly selector: Record<string, string>
          readonly ports: ReadonlyArray<{ readonly name: string; readonly targetPort: string | number }>
        }
        assert.isTrue(selects(service.selector, labels), "the Service selects the server's pods")
        const names = server(manifests).ports.map((port) => port.name)
        for (const port of service.ports) assert.include(names, port.targetPort)
      })

      it("the image is the one the kustomization sets", () => {
        const base = parse(read(`${folder}/base/kustomization.yaml`)) as Kustomization
        assert.include(
          (base.images ?? []).map((image) => image.name),
          server(manifests).image
        )
      })
    })
  }

  it("webhooks: several replicas only with PUBLIC_URL (one long poll per bot at a time)", () => {
    const spec = deploymentSpec(webhooks)
    const hpa = only(webhooks, "HorizontalPodAutoscaler").spec as { readonly minReplicas: number }
    assert.isAbove(Math.min(spec.replicas, hpa.minReplicas), 1)
    assert.match(configData(webhooks).PUBLIC_URL ?? "", /^https:\/\//)
  })

  it("the PDB and the HPA act on the server's pods, the HPA on CPU the pods request", () => {
    const deployment = only(webhooks, "Deployment")
    const labels = deploymentSpec(webhooks).template.metadata.labels
    const pdb = only(webhooks, "PodDisruptionBudget").spec as {
      readonly selector: { readonly matchLabels: Record<string, string> }
    }
    assert.isTrue(selects(pdb.selector.matchLabels, labels), "the PDB selects the server's pods")
    const hpa = only(webhooks, "HorizontalPodAutoscaler").spec as {
      readonly scaleTargetRef: { readonly apiVersion: string; readonly kind: string; readonly name: string }
      readonly minReplicas: number
      readonly maxReplicas: number
      readonly metrics: ReadonlyArray<{ readonly resource?: { readonly name: string } }>
    }
    assert.deepStrictEqual(hpa.scaleTargetRef, {
      apiVersion: deployment.apiVersion,
      kind: "Deployment",
      name: deployment.metadata.name
    })
    assert.isAtMost(hpa.minReplicas, hpa.maxReplicas)
    assert.include(
      hpa.metrics.map((metric) => metric.resource?.name),
      "cpu"
    )
    assert.isDefined(server(webhooks).resources.requests.cpu, "utilisation is measured against the request")
  })

  it("the Ingress sends to the Service's port", () => {
    const service = only(webhooks, "Service")
    const ingress = only(webhooks, "Ingress").spec as {
      readonly rules: ReadonlyArray<{
        readonly http: {
          readonly paths: ReadonlyArray<{
            readonly backend: {
              readonly service: { readonly name: string; readonly port: { readonly name: string } }
            }
          }>
        }
      }>
    }
    const ports = (service.spec as { readonly ports: ReadonlyArray<{ readonly name: string }> }).ports
    for (const rule of ingress.rules) {
      for (const { backend } of rule.http.paths) {
        assert.strictEqual(backend.service.name, service.metadata.name)
        assert.include(
          ports.map((port) => port.name),
          backend.service.port.name
        )
      }
    }
  })

  it("polling: one replica, never two at once, no PUBLIC_URL, nothing that would add a replica", () => {
    const spec = deploymentSpec(polling)
    assert.strictEqual(spec.replicas, 1)
    assert.strictEqual(spec.strategy.type, "Recreate", "the old pod stops before the new one polls")
    assert.strictEqual(configData(polling).PUBLIC_URL ?? "", "")
    assert.isUndefined(maybe(polling, "HorizontalPodAutoscaler"))
    assert.isUndefined(maybe(polling, "PodDisruptionBudget"))
  })

  it("the example Secret is not applied with the rest", () => {
    for (const relative of [folder, `${folder}/base`, `${folder}/polling`]) {
      const kustomization = parse(read(`${relative}/kustomization.yaml`)) as Kustomization
      assert.notInclude(kustomization.resources ?? [], "secret.example.yaml")
    }
    for (const manifests of [webhooks, polling]) assert.isUndefined(maybe(manifests, "Secret"))
  })
})

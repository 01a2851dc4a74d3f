/** LLM providers in the `providers` table. */
import { ProviderRepository } from "@botfleet/application"
import {
  type ModelPrices,
  Provider,
  type ProviderId,
  ProviderInUse,
  ProviderNameTaken,
  ProviderNotFound
} from "@botfleet/domain"
import { Effect, Layer, Schema } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import { orDieSql } from "../postgres/sqlErrors.ts"
import { uniqueConstraintOf } from "../postgres/uniqueViolation.ts"

interface ProviderRow {
  readonly id: string
  readonly name: string
  readonly base_url: string
  readonly api_key_ciphertext: string
  readonly api_key_hint: string
  readonly default_model: string | null
  /** jsonb may arrive parsed or as text. */
  readonly prices: unknown
  readonly created_at: Date
  readonly updated_at: Date
}

const decodeProvider = Schema.decodeUnknownEffect(Provider)

/** A row the schema rejects is a defect: the database holds what we wrote. */
const fromRow = (row: ProviderRow): Effect.Effect<Provider> =>
  decodeProvider({
    id: row.id,
    name: row.name,
    baseUrl: row.base_url,
    apiKeyCiphertext: row.api_key_ciphertext,
    apiKeyHint: row.api_key_hint,
    defaultModel: row.default_model,
    prices: (typeof row.prices === "string" ? JSON.parse(row.prices) : row.prices) as ModelPrices,
    createdAt: row.created_at,
    updatedAt: row.updated_at
  }).pipe(orDieSql)

const columns = (provider: Provider) => ({
  id: provider.id,
  name: provider.name,
  base_url: provider.baseUrl,
  api_key_ciphertext: provider.apiKeyCiphertext,
  api_key_hint: provider.apiKeyHint,
  default_model: provider.defaultModel,
  prices: JSON.stringify(provider.prices),
  created_at: provider.createdAt,
  updated_at: provider.updatedAt
})

const nameTaken =
  (provider: Provider) =>
  (error: SqlError.SqlError): Effect.Effect<never, ProviderNameTaken> =>
    uniqueConstraintOf(error) === "providers_name_key"
      ? Effect.fail(new ProviderNameTaken({ name: provider.name }))
      : Effect.die(error)

export const layer: Layer.Layer<ProviderRepository, never, SqlClient.SqlClient> = Layer.effect(
  ProviderRepository,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const insert = Effect.fn("ProviderRepository.insert")(function* (provider: Provider) {
      yield* sql`INSERT INTO providers ${sql.insert(columns(provider))}`.pipe(
        Effect.catchTag("SqlError", nameTaken(provider))
      )
    })

    const update = Effect.fn("ProviderRepository.update")(function* (provider: Provider) {
      const rows = yield* sql<{ id: string }>`
        UPDATE providers SET ${sql.update(columns(provider), ["id"])} WHERE id = ${provider.id} RETURNING id`.pipe(
        Effect.catchTag("SqlError", nameTaken(provider))
      )
      if (rows.length === 0) return yield* new ProviderNotFound({ providerId: provider.id })
    })

    const findById = Effect.fn("ProviderRepository.findById")(function* (id: ProviderId) {
      const rows = yield* sql<ProviderRow>`SELECT * FROM providers WHERE id = ${id}`.pipe(orDieSql)
      const row = rows[0]
      if (row === undefined) return yield* new ProviderNotFound({ providerId: id })
      return yield* fromRow(row)
    })

    // Byte order of the lowercased name, as bots are listed (and as the in-memory twin sorts).
    const list = sql<ProviderRow>`SELECT * FROM providers ORDER BY lower(name) COLLATE "C", id`.pipe(
      orDieSql,
      Effect.flatMap((rows) => Effect.forEach(rows, fromRow)),
      Effect.withSpan("ProviderRepository.list")
    )

    const remove = Effect.fn("ProviderRepository.delete")(function* (id: ProviderId) {
      const rows = yield* sql<{ id: string }>`DELETE FROM providers WHERE id = ${id} RETURNING id`.pipe(
        // bots.provider_id has no cascade: a bot still using it refuses the delete.
        Effect.catchTag("SqlError", (error) =>
          error.reason._tag === "ConstraintError"
            ? Effect.fail(new ProviderInUse({ providerId: id, bots: [] }))
            : Effect.die(error)
        )
      )
      if (rows.length === 0) return yield* new ProviderNotFound({ providerId: id })
    })

    return ProviderRepository.of({ insert, update, findById, list, delete: remove })
  })
)

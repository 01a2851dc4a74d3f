/**
 * The admin API contract: routes, bodies and errors, apart from the handlers
 * (api/handlers). Served with `/openapi.json` and the UI at `/docs`.
 */
import { Schema } from "effect"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import {
  BadRequest,
  Conflict,
  Forbidden,
  NotFound,
  PayloadTooLarge,
  ServiceUnavailable,
  TooManyRequests,
  Unauthorized,
  Unprocessable,
  UnsupportedMediaType
} from "./ApiErrors.ts"
import { AuditSignIn } from "./AuditSignIn.ts"
import { Authentication } from "./Authentication.ts"
import { ChangePassword, PasswordChanged, SessionsView } from "./accountSchemas.ts"
import {
  AcceptInvitation,
  AuditEntryView,
  AuditQuery,
  CreateInvitation,
  InvitationIssuedView,
  UpdateAdmin
} from "./adminSchemas.ts"
import {
  AddDocument,
  CreateKnowledgeBase,
  DocumentDetailView,
  DocumentView,
  KnowledgeBaseView,
  SearchKnowledge,
  SearchResultView,
  UpdateKnowledgeBase,
  UploadQuery
} from "./knowledgeSchemas.ts"
import { CreateMcpServer, McpServerView, UpdateMcpServer } from "./mcpServerSchemas.ts"
import {
  AdminView,
  AlertSettingsView,
  BotUsersQuery,
  BotUserView,
  BotView,
  ChatsQuery,
  ChatView,
  CompleteSetup,
  CreateBot,
  CreateProvider,
  FailedUpdateView,
  FailureKind,
  FailureRef,
  FailureRetried,
  FailureView,
  JobsView,
  Login,
  MessageView,
  PageQuery,
  ProviderView,
  page,
  Register,
  SendMessage,
  SetupStatusView,
  StatsQuery,
  StatsView,
  SummaryView,
  UpdateAlertSettings,
  UpdateBot,
  UpdateProvider,
  UserNoteView,
  Uuid,
  WebAppProfileView,
  WebAppSessionView,
  WebAppSignIn
} from "./schemas.ts"

const IdParams = { id: Uuid }

export class AuthApi extends HttpApiGroup.make("auth")
  .add(
    HttpApiEndpoint.post("login", "/login", {
      payload: Login,
      success: AdminView,
      error: [Unauthorized, TooManyRequests]
    }).middleware(AuditSignIn),
    HttpApiEndpoint.post("register", "/register", {
      payload: Register,
      success: AdminView.pipe(HttpApiSchema.status(201)),
      error: [Forbidden, Conflict, TooManyRequests]
    }).middleware(AuditSignIn)
  )
  .add(
    HttpApiEndpoint.post("logout", "/logout", { success: HttpApiSchema.NoContent }).middleware(
      Authentication
    ),
    HttpApiEndpoint.get("me", "/me", { success: AdminView }).middleware(Authentication)
  )
  .prefix("/api/auth")
  .annotateMerge(OpenApi.annotations({ title: "Auth", description: "Sessions: log in to get the cookie" })) {}

/** The signed-in admin's own account: their password and their sessions. */
export class AccountApi extends HttpApiGroup.make("account")
  .add(
    HttpApiEndpoint.post("changePassword", "/password", {
      payload: ChangePassword,
      success: PasswordChanged,
      error: [Forbidden, TooManyRequests]
    }),
    HttpApiEndpoint.get("sessions", "/sessions", { success: SessionsView }),
    HttpApiEndpoint.delete("endSession", "/sessions/:id", {
      params: IdParams,
      success: HttpApiSchema.NoContent,
      error: NotFound
    })
  )
  .middleware(Authentication)
  .prefix("/api/auth")
  .annotateMerge(
    OpenApi.annotations({
      title: "Account",
      description: "Change your password; list and end your own sessions"
    })
  ) {}

/** The first run: no session (there is no admin yet); the link's token is the credential. */
export class SetupApi extends HttpApiGroup.make("setup")
  .add(
    HttpApiEndpoint.get("status", "/", { success: SetupStatusView }),
    HttpApiEndpoint.post("complete", "/", {
      payload: CompleteSetup,
      success: AdminView.pipe(HttpApiSchema.status(201)),
      error: Forbidden
    }).middleware(AuditSignIn)
  )
  .prefix("/api/setup")
  .annotateMerge(
    OpenApi.annotations({
      title: "First run",
      description:
        "While no admin exists, the start-up log prints a one-time link (/admin/setup#<token>) that creates the owner"
    })
  ) {}

export class BotsApi extends HttpApiGroup.make("bots")
  .add(
    HttpApiEndpoint.get("list", "/", { success: Schema.Array(BotView) }),
    HttpApiEndpoint.post("create", "/", {
      payload: CreateBot,
      success: BotView.pipe(HttpApiSchema.status(201)),
      error: [Unprocessable, Conflict, ServiceUnavailable]
    }),
    HttpApiEndpoint.get("get", "/:id", { params: IdParams, success: BotView, error: NotFound }),
    HttpApiEndpoint.patch("update", "/:id", {
      params: IdParams,
      payload: UpdateBot,
      success: BotView,
      error: [NotFound, Unprocessable, Conflict, ServiceUnavailable]
    }),
    HttpApiEndpoint.delete("remove", "/:id", {
      params: IdParams,
      success: HttpApiSchema.NoContent,
      error: NotFound
    }),
    HttpApiEndpoint.post("enable", "/:id/enable", { params: IdParams, success: BotView, error: NotFound }),
    HttpApiEndpoint.post("disable", "/:id/disable", { params: IdParams, success: BotView, error: NotFound })
  )
  .middleware(Authentication)
  .prefix("/api/bots")
  .annotateMerge(OpenApi.annotations({ title: "Bots" })) {}

/** Access and limits: a bot's users with their use; block and unblock. */
const UserParams = { id: Uuid, userId: Schema.NumberFromString.check(Schema.isInt()) }

export class BotUsersApi extends HttpApiGroup.make("botUsers")
  .add(
    HttpApiEndpoint.get("list", "/:id/users", {
      params: IdParams,
      query: BotUsersQuery,
      success: page(BotUserView),
      error: [NotFound, BadRequest]
    }),
    HttpApiEndpoint.post("block", "/:id/users/:userId/block", {
      params: UserParams,
      success: BotView,
      error: NotFound
    }),
    HttpApiEndpoint.post("unblock", "/:id/users/:userId/unblock", {
      params: UserParams,
      success: BotView,
      error: NotFound
    }),
    HttpApiEndpoint.get("notes", "/:id/users/:userId/notes", {
      params: UserParams,
      success: Schema.Array(UserNoteView),
      error: NotFound
    }),
    HttpApiEndpoint.delete("removeNote", "/:id/users/:userId/notes/:noteId", {
      params: { ...UserParams, noteId: Uuid },
      success: HttpApiSchema.NoContent,
      error: NotFound
    })
  )
  .middleware(Authentication)
  .prefix("/api/bots")
  .annotateMerge(
    OpenApi.annotations({
      title: "Bot users",
      description:
        "Who talks to a bot, their use today and this month (UTC), blocking, and the notes the bot keeps about each (remember)"
    })
  ) {}

/** providers: OpenAI-compatible servers some bots answer through. */
export class ProvidersApi extends HttpApiGroup.make("providers")
  .add(
    HttpApiEndpoint.get("list", "/", { success: Schema.Array(ProviderView) }),
    HttpApiEndpoint.post("create", "/", {
      payload: CreateProvider,
      success: ProviderView.pipe(HttpApiSchema.status(201)),
      error: [Unprocessable, Conflict, ServiceUnavailable]
    }),
    HttpApiEndpoint.get("get", "/:id", { params: IdParams, success: ProviderView, error: NotFound }),
    HttpApiEndpoint.patch("update", "/:id", {
      params: IdParams,
      payload: UpdateProvider,
      success: ProviderView,
      error: [NotFound, Unprocessable, Conflict, ServiceUnavailable]
    }),
    HttpApiEndpoint.delete("remove", "/:id", {
      params: IdParams,
      success: HttpApiSchema.NoContent,
      error: [NotFound, Conflict]
    })
  )
  .middleware(Authentication)
  .prefix("/api/providers")
  .annotateMerge(
    OpenApi.annotations({
      title: "Providers",
      description:
        "OpenAI-compatible servers (a local model, OpenRouter...) with their own key; checked with GET /models before they are stored"
    })
  ) {}

/** MCP servers whose tools bots may call; checked with tools/list before they are stored. */
export class McpServersApi extends HttpApiGroup.make("mcpServers")
  .add(
    HttpApiEndpoint.get("list", "/", { success: Schema.Array(McpServerView) }),
    HttpApiEndpoint.post("create", "/", {
      payload: CreateMcpServer,
      success: McpServerView.pipe(HttpApiSchema.status(201)),
      error: [Unprocessable, Conflict, ServiceUnavailable]
    }),
    HttpApiEndpoint.get("get", "/:id", { params: IdParams, success: McpServerView, error: NotFound }),
    HttpApiEndpoint.patch("update", "/:id", {
      params: IdParams,
      payload: UpdateMcpServer,
      success: McpServerView,
      error: [NotFound, Unprocessable, Conflict, ServiceUnavailable]
    }),
    HttpApiEndpoint.post("refresh", "/:id/refresh", {
      params: IdParams,
      success: McpServerView,
      error: [NotFound, Unprocessable, ServiceUnavailable]
    }),
    HttpApiEndpoint.delete("remove", "/:id", {
      params: IdParams,
      success: HttpApiSchema.NoContent,
      error: [NotFound, Conflict]
    })
  )
  .middleware(Authentication)
  .prefix("/api/mcp-servers")
  .annotateMerge(
    OpenApi.annotations({
      title: "MCP servers",
      description:
        "Remote tools over MCP Streamable HTTP; the server is asked for its tools before it is stored, and bots may call only the allowed ones"
    })
  ) {}

const DocumentParams = { id: Uuid, documentId: Uuid }

/** What adding a document can be refused for. */
const DocumentRefusals = [NotFound, Unprocessable, PayloadTooLarge, UnsupportedMediaType, ServiceUnavailable]

/** Knowledge bases: documents a bot can answer from, their indexing, and a search box to debug retrieval. */
export class KnowledgeBasesApi extends HttpApiGroup.make("knowledgeBases")
  .add(
    HttpApiEndpoint.get("list", "/", { success: Schema.Array(KnowledgeBaseView) }),
    HttpApiEndpoint.post("create", "/", {
      payload: CreateKnowledgeBase,
      success: KnowledgeBaseView.pipe(HttpApiSchema.status(201)),
      error: [Conflict, Unprocessable]
    }),
    HttpApiEndpoint.get("get", "/:id", { params: IdParams, success: KnowledgeBaseView, error: NotFound }),
    HttpApiEndpoint.patch("update", "/:id", {
      params: IdParams,
      payload: UpdateKnowledgeBase,
      success: KnowledgeBaseView,
      error: [NotFound, Conflict, Unprocessable]
    }),
    HttpApiEndpoint.delete("remove", "/:id", {
      params: IdParams,
      success: HttpApiSchema.NoContent,
      error: NotFound
    }),
    HttpApiEndpoint.get("documents", "/:id/documents", {
      params: IdParams,
      success: Schema.Array(DocumentView),
      error: NotFound
    }),
    HttpApiEndpoint.post("addDocument", "/:id/documents", {
      params: IdParams,
      payload: AddDocument,
      success: DocumentView.pipe(HttpApiSchema.status(202)),
      error: [BadRequest, ...DocumentRefusals]
    }),
    // The file is the body as it is (any Content-Type), up to KNOWLEDGE_MAX_DOCUMENT_MB.
    HttpApiEndpoint.post("upload", "/:id/documents/upload", {
      params: IdParams,
      query: UploadQuery,
      payload: Schema.Uint8Array.pipe(
        HttpApiSchema.asUint8Array({ contentType: "application/octet-stream" })
      ),
      success: DocumentView.pipe(HttpApiSchema.status(202)),
      error: DocumentRefusals
    }),
    HttpApiEndpoint.get("document", "/:id/documents/:documentId", {
      params: DocumentParams,
      success: DocumentDetailView,
      error: NotFound
    }),
    HttpApiEndpoint.post("reindex", "/:id/documents/:documentId/reindex", {
      params: DocumentParams,
      success: DocumentView.pipe(HttpApiSchema.status(202)),
      error: NotFound
    }),
    HttpApiEndpoint.delete("removeDocument", "/:id/documents/:documentId", {
      params: DocumentParams,
      success: HttpApiSchema.NoContent,
      error: NotFound
    }),
    HttpApiEndpoint.post("search", "/:id/search", {
      params: IdParams,
      payload: SearchKnowledge,
      success: SearchResultView,
      error: [NotFound, ServiceUnavailable]
    })
  )
  .middleware(Authentication)
  .prefix("/api/knowledge-bases")
  .annotateMerge(
    OpenApi.annotations({
      title: "Knowledge bases",
      description:
        "Documents (text, Markdown, HTML, PDF, DOCX; uploaded, by URL or pasted) indexed for hybrid full-text and embedding search"
    })
  ) {}

export class ChatsApi extends HttpApiGroup.make("chats")
  .add(
    HttpApiEndpoint.get("list", "/", { query: ChatsQuery, success: page(ChatView), error: BadRequest }),
    HttpApiEndpoint.get("get", "/:id", { params: IdParams, success: ChatView, error: NotFound }),
    HttpApiEndpoint.get("messages", "/:id/messages", {
      params: IdParams,
      query: PageQuery,
      success: page(MessageView),
      error: [NotFound, BadRequest]
    }),
    HttpApiEndpoint.get("summaries", "/:id/summaries", {
      params: IdParams,
      success: Schema.Struct({ items: Schema.Array(SummaryView) }),
      error: NotFound
    }),
    HttpApiEndpoint.post("send", "/:id/messages", {
      params: IdParams,
      payload: SendMessage,
      success: MessageView.pipe(HttpApiSchema.status(202)),
      error: [NotFound, Conflict]
    })
  )
  .middleware(Authentication)
  .prefix("/api/chats")
  .annotateMerge(OpenApi.annotations({ title: "Chats" })) {}

export class FailuresApi extends HttpApiGroup.make("failures")
  .add(
    // Failures of every kind: messages, inbox updates, outbox effects.
    HttpApiEndpoint.get("list", "/failures", {
      query: { botId: Schema.optional(Uuid), kind: Schema.optional(FailureKind), ...PageQuery },
      success: page(FailureView),
      error: BadRequest
    }),
    HttpApiEndpoint.get("updates", "/failures/updates", {
      query: { botId: Schema.optional(Uuid), ...PageQuery },
      success: page(FailedUpdateView),
      error: BadRequest
    }),
    HttpApiEndpoint.post("retryAny", "/failures/:id/retry", {
      params: { id: FailureRef },
      success: FailureRetried.pipe(HttpApiSchema.status(202)),
      error: [NotFound, Conflict]
    }),
    HttpApiEndpoint.post("retry", "/messages/:id/retry", {
      params: IdParams,
      success: MessageView.pipe(HttpApiSchema.status(202)),
      error: [NotFound, Conflict]
    })
  )
  .middleware(Authentication)
  .prefix("/api")
  .annotateMerge(
    OpenApi.annotations({ title: "Failures", description: "Everything that gave up, and retrying it" })
  ) {}

export class StatsApi extends HttpApiGroup.make("stats")
  .add(HttpApiEndpoint.get("get", "/stats", { query: StatsQuery, success: StatsView, error: NotFound }))
  .middleware(Authentication)
  .prefix("/api")
  .annotateMerge(OpenApi.annotations({ title: "Stats" })) {}

// Scheduled jobs
export class JobsApi extends HttpApiGroup.make("jobs")
  .add(HttpApiEndpoint.get("list", "/jobs", { success: JobsView }))
  .middleware(Authentication)
  .prefix("/api")
  .annotateMerge(OpenApi.annotations({ title: "Jobs", description: "Scheduled jobs and their last runs" })) {}

// Alert settings
export class AlertsApi extends HttpApiGroup.make("alerts")
  .add(
    HttpApiEndpoint.get("get", "/settings/alerts", { success: AlertSettingsView }),
    HttpApiEndpoint.put("update", "/settings/alerts", {
      payload: UpdateAlertSettings,
      success: AlertSettingsView,
      error: Unprocessable
    })
  )
  .middleware(Authentication)
  .prefix("/api")
  .annotateMerge(
    OpenApi.annotations({ title: "Alerts", description: "Where alerts and the daily digest go" })
  ) {}

// Mini App sign-in: no admin session; the bearer token is the credential.
export class WebAppApi extends HttpApiGroup.make("webapp")
  .add(
    HttpApiEndpoint.post("session", "/:botId/session", {
      params: { botId: Uuid },
      payload: WebAppSignIn,
      success: WebAppSessionView,
      error: Unauthorized
    }),
    HttpApiEndpoint.get("me", "/:botId/me", {
      params: { botId: Uuid },
      success: WebAppProfileView,
      error: Unauthorized
    })
  )
  .prefix("/api/webapp")
  .annotateMerge(
    OpenApi.annotations({
      title: "Mini App",
      description: "Telegram users sign in with initData and read their history"
    })
  ) {}

// Roles and the audit log: owners manage admins (accessRules.ts says who may call what).
export class AdminsApi extends HttpApiGroup.make("admins")
  .add(
    HttpApiEndpoint.get("list", "/", { success: Schema.Array(AdminView) }),
    HttpApiEndpoint.post("invite", "/invitations", {
      payload: CreateInvitation,
      success: InvitationIssuedView.pipe(HttpApiSchema.status(201)),
      error: Conflict
    }),
    HttpApiEndpoint.patch("update", "/:id", {
      params: IdParams,
      payload: UpdateAdmin,
      success: AdminView,
      error: [NotFound, Conflict]
    }),
    HttpApiEndpoint.delete("remove", "/:id", {
      params: IdParams,
      success: HttpApiSchema.NoContent,
      error: [NotFound, Conflict]
    })
  )
  .middleware(Authentication)
  .prefix("/api/admins")
  .annotateMerge(
    OpenApi.annotations({
      title: "Admins",
      description:
        "Owners list admins, change roles, remove admins and invite new ones with one-time links (72 h)"
    })
  ) {}

/** The invitee has no session yet: the one-time token is the credential. */
export class InvitationsApi extends HttpApiGroup.make("invitations")
  .add(
    HttpApiEndpoint.post("accept", "/accept", {
      payload: AcceptInvitation,
      success: AdminView.pipe(HttpApiSchema.status(201)),
      error: [BadRequest, Conflict]
    })
  )
  .prefix("/api/admins/invitations")
  .annotateMerge(
    OpenApi.annotations({
      title: "Invitations",
      description: "Accept an invitation: choose a password, then log in"
    })
  ) {}

export class AuditApi extends HttpApiGroup.make("audit")
  .add(
    HttpApiEndpoint.get("list", "/audit", {
      query: AuditQuery,
      success: page(AuditEntryView),
      error: BadRequest
    })
  )
  .middleware(Authentication)
  .prefix("/api")
  .annotateMerge(
    OpenApi.annotations({
      title: "Audit log",
      description: "Every change and every refused attempt: who, what, which object, when, from where"
    })
  ) {}

export class Api extends HttpApi.make("botfleet")
  .add(AuthApi)
  .add(AccountApi)
  .add(SetupApi)
  .add(BotsApi)
  .add(ChatsApi)
  .add(FailuresApi)
  .add(StatsApi)
  // access and limits
  .add(BotUsersApi)
  .add(ProvidersApi)
  .add(McpServersApi)
  // A misspelt field must not silently do nothing: unknown body fields are a 400 naming them,
  // as /openapi.json's additionalProperties: false says. Queries and headers stay lenient.
  .annotate(HttpApi.PayloadParseOptions, { onExcessProperty: "error" })
  // Operations
  .add(JobsApi)
  .add(AlertsApi)
  .add(WebAppApi)
  // Roles and the audit log
  .add(AdminsApi)
  .add(InvitationsApi)
  .add(AuditApi)
  .add(KnowledgeBasesApi)
  .annotateMerge(
    OpenApi.annotations({
      title: "Botfleet admin API",
      description:
        "Manage bots, browse chats, answer as a bot, read stats. Log in first: POST /api/auth/login."
    })
  ) {}

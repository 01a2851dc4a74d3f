/**
 * Who may call what, declared once. Every endpoint behind `Authentication`
 * goes through `requiredRole` (in AuthenticationLive), so a new endpoint gets
 * the default of its group without anyone remembering to add a check:
 * reading needs a viewer, changing needs an operator, and the groups below
 * say otherwise. The audit log's names for objects are here too.
 */
import type { AdminRole } from "@botfleet/application"

/** "signedIn": any admin, whatever the role (their own session and account). */
export type Requirement = AdminRole | "signedIn"

interface GroupRule {
  readonly read: Requirement
  readonly write: Requirement
}

const DEFAULT_RULE: GroupRule = { read: "viewer", write: "operator" }

/** The groups that differ from the default, by the group's identifier in Api.ts. */
export const GROUP_RULES: Readonly<Record<string, GroupRule>> = {
  // Their own session; `account` is their own password and sessions.
  auth: { read: "signedIn", write: "signedIn" },
  account: { read: "signedIn", write: "signedIn" },
  // Who can sign in and with what role, and the record of what everyone did.
  admins: { read: "owner", write: "owner" },
  audit: { read: "owner", write: "owner" },
  // Where alerts go (a webhook URL may carry a secret of its own).
  alerts: { read: "owner", write: "owner" },
  // Keys of LLM servers: anyone may see the list (a bot's settings pick from it), only owners change it.
  providers: { read: "viewer", write: "owner" },
  // Their headers hold credentials and their tools act on other systems: as provider keys.
  mcpServers: { read: "viewer", write: "owner" }
}

const isRead = (method: string) => method === "GET" || method === "HEAD" || method === "OPTIONS"

/** The admin's own session, password and sessions, whichever group declares them. */
const OWN_ACCOUNT_PREFIX = "/api/auth/"

export const requiredRole = (group: string, method: string, path: string): Requirement => {
  if (path.startsWith(OWN_ACCOUNT_PREFIX)) return "signedIn"
  const rule = GROUP_RULES[group] ?? DEFAULT_RULE
  return isRead(method) ? rule.read : rule.write
}

const RANK: Readonly<Record<AdminRole, number>> = { viewer: 0, operator: 1, owner: 2 }

export const allows = (role: AdminRole, requirement: Requirement): boolean =>
  requirement === "signedIn" || RANK[role] >= RANK[requirement]

/** Whether a request changes state, and so goes into the audit log. */
export const changesState = (method: string) => !isRead(method)

/** The audit log's name for what a group acts on: `bot.disable`, `admin.invite`... */
const OBJECT_TYPES: Readonly<Record<string, string>> = {
  auth: "session",
  account: "account",
  admins: "admin",
  invitations: "invitation",
  bots: "bot",
  botUsers: "bot_user",
  chats: "chat",
  failures: "failure",
  providers: "provider",
  mcpServers: "mcp_server",
  alerts: "alert_settings",
  audit: "audit"
}

export const objectTypeOf = (group: string): string => OBJECT_TYPES[group] ?? group

/**
 * What the signed-in admin's role lets them do, for showing only the
 * controls that would work. The server checks every request regardless
 * (docs/api.md, "Roles"); this only keeps the page honest.
 */

const RANK = { viewer: 0, operator: 1, owner: 2 }

/** "operate": change bots, chats, blocks, retries; "own": admins, providers, alerts, the audit log. */
const NEEDS = { operate: "operator", own: "owner" }

/** A server from before roles says no role: every admin there could do everything. */
const roleOf = (session) => session?.role ?? "owner"

export const can = (session, what) => (RANK[roleOf(session)] ?? -1) >= RANK[NEEDS[what]]

export const roleLabels = {
  owner: "Owner",
  operator: "Operator",
  viewer: "Viewer"
}

export const roleDescriptions = {
  owner: "Everything, including admins, providers, alerts and the audit log",
  operator: "Runs bots and chats: answers as a bot, blocks users, retries failures",
  viewer: "Reads everything an operator sees, changes nothing"
}

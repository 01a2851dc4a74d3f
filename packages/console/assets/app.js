/**
 * The console's shell: who is signed in, the navigation, and which page a
 * path shows. Pages are modules in pages/ with `render(container, context)`.
 */
import { api, whenUnauthorized } from "./api.js"
import { capabilities } from "./capabilities.js"
import { h, replace } from "./dom.js"
import { can, roleLabels } from "./roles.js"
import { errorNotice } from "./ui.js"

/**
 * Path pattern → page module. Order matters: the first match wins. `can`:
 * what the role must allow (roles.js); the server refuses the rest anyway.
 */
const routes = [
  { pattern: /^\/admin\/sign-in$/, page: () => import("./pages/signIn.js"), bare: true },
  { pattern: /^\/admin\/setup$/, page: () => import("./pages/setup.js"), bare: true },
  // The invitation's token is in the fragment, so it never reaches a server log.
  { pattern: /^\/admin\/invite$/, page: () => import("./pages/invite.js"), bare: true },
  { pattern: /^\/admin\/?$/, page: () => import("./pages/fleet.js"), nav: "fleet" },
  { pattern: /^\/admin\/bots\/new$/, page: () => import("./pages/newBot.js"), nav: "fleet", can: "operate" },
  { pattern: /^\/admin\/bots\/(?<id>[\w-]+)$/, page: () => import("./pages/bot.js"), nav: "fleet" },
  { pattern: /^\/admin\/bots\/(?<id>[\w-]+)\/users$/, page: () => import("./pages/users.js"), nav: "fleet" },
  { pattern: /^\/admin\/chats$/, page: () => import("./pages/chats.js"), nav: "chats" },
  { pattern: /^\/admin\/chats\/(?<id>[\w-]+)$/, page: () => import("./pages/chat.js"), nav: "chats" },
  { pattern: /^\/admin\/failures$/, page: () => import("./pages/failures.js"), nav: "failures" },
  { pattern: /^\/admin\/stats$/, page: () => import("./pages/stats.js"), nav: "stats" },
  {
    pattern: /^\/admin\/providers$/,
    page: () => import("./pages/providers.js"),
    nav: "providers",
    requires: "providers"
  },
  {
    pattern: /^\/admin\/providers\/new$/,
    page: () => import("./pages/provider.js"),
    nav: "providers",
    requires: "providers",
    can: "own"
  },
  {
    pattern: /^\/admin\/providers\/(?<id>[\w-]+)$/,
    page: () => import("./pages/provider.js"),
    nav: "providers",
    requires: "providers",
    can: "own"
  },
  {
    pattern: /^\/admin\/mcp-servers$/,
    page: () => import("./pages/mcpServers.js"),
    nav: "mcpServers",
    requires: "mcpServers"
  },
  {
    pattern: /^\/admin\/mcp-servers\/(?<id>[\w-]+)$/,
    page: () => import("./pages/mcpServer.js"),
    nav: "mcpServers",
    requires: "mcpServers"
  },
  {
    pattern: /^\/admin\/account$/,
    page: () => import("./pages/account.js"),
    nav: "account",
    requires: "account"
  },
  { pattern: /^\/admin\/jobs$/, page: () => import("./pages/jobs.js"), nav: "jobs", requires: "jobs" },
  {
    pattern: /^\/admin\/alerts$/,
    page: () => import("./pages/alerts.js"),
    nav: "alerts",
    requires: "alerts",
    can: "own"
  },
  {
    pattern: /^\/admin\/admins$/,
    page: () => import("./pages/admins.js"),
    nav: "admins",
    requires: "admins",
    can: "own"
  },
  {
    pattern: /^\/admin\/audit$/,
    page: () => import("./pages/audit.js"),
    nav: "audit",
    requires: "audit",
    can: "own"
  }
]

const navItems = [
  { id: "fleet", label: "Bots", href: "/admin" },
  { id: "chats", label: "Chats", href: "/admin/chats" },
  { id: "failures", label: "Failures", href: "/admin/failures" },
  { id: "stats", label: "Stats", href: "/admin/stats" },
  { id: "providers", label: "Providers", href: "/admin/providers", requires: "providers" },
  { id: "mcpServers", label: "MCP servers", href: "/admin/mcp-servers", requires: "mcpServers" },
  // Shown only when the server has the route (see capabilities.js).
  { id: "jobs", label: "Jobs", href: "/admin/jobs", requires: "jobs" },
  { id: "alerts", label: "Alerts", href: "/admin/alerts", requires: "alerts", can: "own" },
  { id: "admins", label: "Admins", href: "/admin/admins", requires: "admins", can: "own" },
  { id: "audit", label: "Audit log", href: "/admin/audit", requires: "audit", can: "own" }
]

const root = document.getElementById("app")
let session = null
/** What this server's API offers beyond the basics (a Set of feature names). */
let features = new Set()
let leaveCurrentPage = () => {}
/** Counts navigations, so a page that finishes loading after the next navigation stays out. */
let navigation = 0

export const navigate = (path, { replace: replaceEntry = false } = {}) => {
  if (replaceEntry) history.replaceState(null, "", path)
  else {
    history.pushState(null, "", path)
    window.scrollTo(0, 0)
  }
  void show()
}

const signOut = async () => {
  try {
    await api.post("/api/auth/logout")
  } finally {
    session = null
    navigate("/admin/sign-in")
  }
}

const shell = (active) => {
  const main = h("main", { id: "main", class: "main", tabindex: "-1" })
  const nav = h(
    "nav",
    { class: "nav", "aria-label": "Main" },
    navItems
      .filter((item) => !item.requires || features.has(item.requires))
      .filter((item) => !item.can || can(session, item.can))
      .map((item) =>
        h(
          "a",
          { href: item.href, class: "nav-link", "aria-current": item.id === active ? "page" : null },
          item.label
        )
      )
  )
  const sidebar = h(
    "aside",
    { class: "sidebar" },
    h(
      "div",
      { class: "sidebar-inner" },
      h(
        "a",
        { class: "brand", href: "/admin" },
        h("img", { src: "/admin/assets/favicon.svg", alt: "", width: "28", height: "28" }),
        h("span", {}, "Botfleet")
      ),
      nav,
      h(
        "div",
        { class: "account" },
        h("span", { class: "account-email", title: session.email }, session.email),
        session.role ? h("span", { class: "account-role" }, roleLabels[session.role] ?? session.role) : null,
        features.has("account")
          ? h(
              "a",
              {
                href: "/admin/account",
                class: "account-link",
                "aria-current": active === "account" ? "page" : null
              },
              "Account"
            )
          : null,
        h("button", { type: "button", class: "link-button", onclick: signOut }, "Sign out")
      )
    )
  )
  replace(root, h("div", { class: "layout" }, sidebar, main))
  return main
}

const show = async () => {
  leaveCurrentPage()
  leaveCurrentPage = () => {}
  const current = ++navigation
  const path = location.pathname
  const route = routes.find((candidate) => candidate.pattern.test(path))
  if (!route) {
    navigate("/admin", { replace: true })
    return
  }
  // Asked once (cached), at the same time as the session.
  const featuresLoading = route.bare ? null : capabilities()
  if (!route.bare && session === null) {
    try {
      session = await api.get("/api/auth/me")
    } catch (error) {
      if (error.status === 401 || current !== navigation) return
      replace(root, h("main", { class: "main" }, errorNotice(error)))
      return
    }
  }
  if (featuresLoading) features = await featuresLoading
  if (current !== navigation) return
  if ((route.requires && !features.has(route.requires)) || (route.can && !can(session, route.can))) {
    navigate("/admin", { replace: true })
    return
  }
  const container = route.bare ? root : shell(route.nav)
  const leaveHandlers = []
  let active = true
  leaveCurrentPage = () => {
    active = false
    for (const handler of leaveHandlers) handler()
  }
  const context = {
    params: path.match(route.pattern).groups ?? {},
    query: new URLSearchParams(location.search),
    session,
    features,
    navigate,
    isActive: () => active,
    onLeave: (handler) => leaveHandlers.push(handler),
    signedIn: (admin) => {
      session = admin
    }
  }
  const module = await route.page()
  if (!active || current !== navigation) return
  replace(container)
  try {
    await module.render(container, context)
  } catch (error) {
    // A bug in a page: say so instead of leaving it blank (the details are in the browser's console).
    console.error(error)
    replace(
      container,
      errorNotice({ message: `This page failed to show: ${error.message}. Reload to try again.` })
    )
  }
  // Keyboard and screen reader users start at the new page's title, unless the page focused a field.
  if (active && !container.contains(document.activeElement)) {
    container.querySelector("h1")?.focus({ preventScroll: true })
  }
}

whenUnauthorized(() => {
  session = null
  if (location.pathname !== "/admin/sign-in") {
    const back = location.pathname + location.search
    navigate(`/admin/sign-in${back === "/admin" ? "" : `?next=${encodeURIComponent(back)}`}`, {
      replace: true
    })
  }
})

// Links inside the console change the page without a reload.
document.addEventListener("click", (event) => {
  const link = event.target.closest?.("a[href]")
  if (!link || event.defaultPrevented || event.button !== 0) return
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey || link.target) return
  const url = new URL(link.href)
  if (url.origin !== location.origin || !url.pathname.startsWith("/admin")) return
  event.preventDefault()
  navigate(url.pathname + url.search)
})

window.addEventListener("popstate", () => void show())

void show()

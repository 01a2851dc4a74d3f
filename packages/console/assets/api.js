/**
 * The admin API from the browser: same origin, the session cookie sent by
 * the browser, JSON in and out. Every failure becomes an ApiError carrying
 * the API's own `{ error: { code, message } }`.
 */

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message)
    this.status = status
    this.code = code
  }
}

/** Called when the session is missing or expired (set by the app: it shows sign-in). */
let onUnauthorized = () => {}
export const whenUnauthorized = (handler) => {
  onUnauthorized = handler
}

const request = async (method, path, body, file) => {
  const headers = { accept: "application/json" }
  if (body !== undefined) headers["content-type"] = "application/json"
  // A file goes as the body itself, with its own media type.
  if (file !== undefined) headers["content-type"] = file.type || "application/octet-stream"
  let response
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: file ?? (body === undefined ? undefined : JSON.stringify(body))
    })
  } catch {
    throw new ApiError(
      0,
      "network_error",
      "Cannot reach the server. Check that it is running, then try again."
    )
  }
  const text = await response.text()
  let json
  try {
    json = text === "" ? undefined : JSON.parse(text)
  } catch {
    json = undefined
  }
  if (response.ok) return json
  const error = json?.error
  const failure = new ApiError(
    response.status,
    error?.code ?? "http_error",
    error?.message ?? `The server answered ${response.status} ${response.statusText}.`
  )
  if (response.status === 401 && failure.code === "unauthorized") onUnauthorized()
  throw failure
}

/** `?a=1&b=2` from the defined, non-empty values. */
export const query = (params) => {
  const search = new URLSearchParams()
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value))
  }
  const text = search.toString()
  return text === "" ? "" : `?${text}`
}

export const api = {
  get: (path) => request("GET", path),
  post: (path, body) => request("POST", path, body),
  patch: (path, body) => request("PATCH", path, body),
  put: (path, body) => request("PUT", path, body),
  delete: (path) => request("DELETE", path),
  /** POSTs a File (or Blob) as the raw body. */
  upload: (path, file) => request("POST", path, undefined, file)
}

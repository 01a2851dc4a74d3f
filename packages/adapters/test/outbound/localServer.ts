/** A plain HTTP server on 127.0.0.1 for the outbound tests: answers as told, and counts what it got. */
import http from "node:http"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"

export interface LocalServer {
  readonly origin: string
  readonly port: number
  /** "METHOD /path" of every request received. */
  readonly received: Array<string>
}

export const localServer = (answer: (request: http.IncomingMessage, response: http.ServerResponse) => void) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{ server: http.Server; local: LocalServer }>((resolve) => {
          const received: Array<string> = []
          const server = http.createServer((request, response) => {
            received.push(`${request.method} ${request.url}`)
            request.resume()
            request.on("end", () => answer(request, response))
          })
          server.listen(0, "127.0.0.1", () => {
            const port = (server.address() as AddressInfo).port
            resolve({ server, local: { origin: `http://127.0.0.1:${port}`, port, received } })
          })
        })
    ),
    ({ server }) =>
      Effect.promise(
        () =>
          new Promise<void>((resolve) => {
            server.closeAllConnections()
            server.close(() => resolve())
          })
      )
  ).pipe(Effect.map(({ local }) => local))

/** A port on 127.0.0.1 that nothing listens on (taken, then let go). */
export const closedPort = Effect.promise(
  () =>
    new Promise<number>((resolve) => {
      const server = http.createServer()
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as AddressInfo).port
        server.close(() => resolve(port))
      })
    })
)

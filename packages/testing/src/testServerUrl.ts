import { inject } from "vitest"

declare module "vitest" {
  export interface ProvidedContext {
    /** The PostgreSQL server of this test run (see vitest.globalSetup.ts). */
    readonly postgresServerUrl: string
  }
}

/** The PostgreSQL server the global setup started or was given. */
export const serverUrl = (): string => inject("postgresServerUrl")

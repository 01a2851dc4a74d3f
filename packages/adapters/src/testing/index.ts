export * as TestDatabase from "./TestDatabase.ts"
export { serverUrl } from "./testServerUrl.ts"

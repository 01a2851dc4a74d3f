export * as FakeOpenAI from "./FakeOpenAI.ts"
export * as FakeTelegram from "./FakeTelegram.ts"
export * as TestDatabase from "./TestDatabase.ts"
export { serverUrl } from "./testServerUrl.ts"

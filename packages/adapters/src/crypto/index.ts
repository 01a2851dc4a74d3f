export * as SecretBoxAes from "./SecretBoxAes.ts"

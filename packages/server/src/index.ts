export * as AppConfig from "./config/AppConfig.ts"
export * from "./Server.ts"

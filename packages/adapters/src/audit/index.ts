export * as AuditLogMemory from "./AuditLogMemory.ts"
export * as AuditLogPg from "./AuditLogPg.ts"

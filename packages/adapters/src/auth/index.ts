export * as AdminRepositoryPg from "./AdminRepositoryPg.ts"
export * as AdminsMemory from "./AdminsMemory.ts"
export * as PasswordHasherArgon2 from "./PasswordHasherArgon2.ts"
export * as PasswordHasherScrypt from "./PasswordHasherScrypt.ts"

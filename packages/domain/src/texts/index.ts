export * from "./botTexts.ts"
export * from "./catalogue.ts"
export * from "./overrides.ts"

/**
 * An instance of a Schema class from fields already checked: by TypeScript
 * (the domain's own constructors and transitions, which take typed input) or
 * by the database's types and constraints (rows we wrote). The class
 * constructor validates every field again: about 25 µs for a Message, 12 µs
 * to decode one from a row, several times per reply; this is about 2 µs.
 * Input from outside (HTTP, Telegram) still goes through the schema. Give
 * the fields in the schema's order: instances then have the same keys, in the
 * same order, as validated ones.
 */
import type { Schema } from "effect"

interface SchemaClass {
  readonly fields: Schema.Struct.Fields
  // biome-ignore lint/suspicious/noExplicitAny: any constructor signature
  new (...args: any): object
}

export const trusted = <C extends SchemaClass>(
  klass: C,
  fields: Schema.Struct.Type<C["fields"]>
): InstanceType<C> => Object.assign(Object.create(klass.prototype), fields)

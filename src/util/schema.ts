// The compile-time check that a codec's schema (src/consensus/codec.ts, src/replica/payloads.ts)
// names every field of every member of the tagged union it encodes, so a message or a field added
// without its schema line does not compile instead of vanishing on the wire. Types only.

/** A tagged union's member: it names itself in `type`. */
interface Tagged {
  type: string;
}

/** The fields of union U's member T, its tag aside. */
export type FieldsOf<U extends Tagged, T extends U['type']> = Exclude<keyof Extract<U, { type: T }>, 'type'>;

/** A schema: for each member of U, its fields as [name, kind] lines. */
type SchemaOf<U extends Tagged> = { [T in U['type']]: { fields: readonly (readonly [PropertyKey, unknown])[] } };

/** The fields of each member of U that schema S leaves out: never when S is complete. */
export type FieldsMissing<U extends Tagged, S extends SchemaOf<U>> = {
  [T in U['type']]: Exclude<FieldsOf<U, T>, S[T]['fields'][number][0]>;
}[U['type']];

/** true when nothing is missing, else the missing fields: assigning true then fails to compile, naming them. */
export type Complete<Missing> = [Missing] extends [never] ? true : Missing;

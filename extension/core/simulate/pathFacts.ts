// What a path has learnt about values it cannot compute: "msr->index is MSR_IA32_XSS", "ecx is
// not MSR_STAR". A comparison with a named constant, a `switch` case, or a predicate helper's
// return condition adds a fact; a later test of the same value (through a local copy, a
// parameter of a callee, another switch) is then decided by it, so a path never combines
// `index == MSR_IA32_XSS` with `case MSR_STAR:`.
//
// A value's identity is its term: `$1` is the first parameter of the running function, `$1.index`
// its field, `fn.name` a local that was never assigned (a struct filled through a pointer).
// Facts on `$N...` terms cross calls: a callee's facts about its parameters become the caller's
// facts about the arguments it passed.

export interface Fact {
  /** The named constant the term equals. */
  eq?: string;
  /** Named constants the term differs from. */
  ne?: readonly string[];
}

export type Facts = Readonly<Record<string, Fact>>;

export const NO_FACTS: Facts = Object.freeze({});

/** The facts with `term == sym` (eq) or `term != sym` added; null when that contradicts them. */
export function addFact(facts: Facts, term: string, sym: string, eq: boolean): Facts | null {
  const f = facts[term];
  if (eq) {
    if (f?.eq !== undefined) return f.eq === sym ? facts : null;
    if (f?.ne?.includes(sym)) return null;
    return { ...facts, [term]: { eq: sym } };
  }
  if (f?.eq !== undefined) return f.eq === sym ? null : facts;
  if (f?.ne?.includes(sym)) return facts;
  return { ...facts, [term]: { ne: [...(f?.ne ?? []), sym] } };
}

/** The constant a term is known to equal, if any. */
export function knownSym(facts: Facts, term: string): string | undefined {
  return facts[term]?.eq;
}

/** Whether the facts already say the term differs from `sym`. */
export function knownDifferent(facts: Facts, term: string, sym: string): boolean {
  const f = facts[term];
  return f !== undefined && (f.eq !== undefined ? f.eq !== sym : !!f.ne?.includes(sym));
}

/**
 * A callee's facts about its own parameters, restated for the caller: `$2.index` becomes the
 * term of the caller's second argument plus `.index`. Facts on the callee's locals, and on
 * parameters whose argument has no term, say nothing the caller can use.
 */
export function translateTerm(term: string, argTerms: readonly (string | undefined)[]): string | undefined {
  const m = /^\$(\d+)(\..*)?$/.exec(term);
  if (!m) return undefined;
  const base = argTerms[Number(m[1])];
  return base === undefined ? undefined : base + (m[2] ?? '');
}

/** Merges a callee's facts into the caller's; null when the callee's path contradicts the caller's. */
export function mergeCalleeFacts(caller: Facts, callee: Facts, argTerms: readonly (string | undefined)[]): Facts | null {
  let out: Facts | null = caller;
  for (const [term, f] of Object.entries(callee)) {
    const t = translateTerm(term, argTerms);
    if (t === undefined) continue;
    if (f.eq !== undefined) out = addFact(out, t, f.eq, true);
    for (const s of f.ne ?? []) if (out) out = addFact(out, t, s, false);
    if (!out) return null;
  }
  return out;
}

/** Only the facts about parameters survive a return. */
export function parameterFacts(facts: Facts): Facts {
  let out: Record<string, Fact> | undefined;
  for (const k of Object.keys(facts)) {
    if (!k.startsWith('$')) { out ??= { ...facts }; delete out[k]; }
  }
  return out ?? facts;
}

export function factsKey(facts: Facts): string {
  return Object.keys(facts).sort().map((k) => `${k}${facts[k].eq !== undefined ? `=${facts[k].eq}` : `!${[...facts[k].ne ?? []].sort().join('|')}`}`).join(',');
}

// What a path has learnt about values it cannot compute: "msr->index is MSR_IA32_XSS", "ecx is
// not MSR_STAR". A comparison with a named constant, a `switch` case, or a predicate helper's
// return condition adds a fact; a later test of the same value (through a local copy, a
// parameter of a callee, another switch) is then decided by it, so a path never combines
// `index == MSR_IA32_XSS` with `case MSR_STAR:`.
//
// A value's identity is its term: `$1` is the second parameter of the running function, `$1.index`
// its field, `fn.name` a local that was never assigned (a struct filled through a pointer), and
// `vmcb.control.*` / `user.*` the vCPU's VMCB control area and the kvm_run page, the same in
// every function. Facts on `$N...` terms cross calls both ways (the caller's facts about an
// argument are the callee's about its parameter, and back); facts on the shared terms too.

export interface Fact {
  /** The named constant the term equals. */
  eq?: string;
  /** Named constants the term differs from. */
  ne?: readonly string[];
  /** The only named constants the term can be (the exits the hardware can take). */
  oneOf?: readonly string[];
}

export type Facts = Readonly<Record<string, Fact>>;

export const NO_FACTS: Facts = Object.freeze({});

/** The facts with `term == sym` (eq) or `term != sym` added; null when that contradicts them. */
export function addFact(facts: Facts, term: string, sym: string, eq: boolean): Facts | null {
  const f = facts[term];
  if (eq) {
    if (f?.eq !== undefined) return f.eq === sym ? facts : null;
    if (f?.ne?.includes(sym)) return null;
    if (f?.oneOf && !f.oneOf.includes(sym)) return null;
    return { ...facts, [term]: { eq: sym } };
  }
  if (f?.eq !== undefined) return f.eq === sym ? null : facts;
  if (f?.ne?.includes(sym)) return facts;
  if (f?.oneOf && !f.oneOf.includes(sym)) return facts;
  return { ...facts, [term]: { ...f, ne: [...(f?.ne ?? []), sym] } };
}

/** The facts with "term is one of these constants" (nothing else it was known to be kept). */
export function addOneOf(facts: Facts, term: string, syms: readonly string[]): Facts | null {
  const f = facts[term];
  if (f?.eq !== undefined) return syms.includes(f.eq) ? facts : null;
  const allowed = syms.filter((s) => !f?.ne?.includes(s));
  return allowed.length ? { ...facts, [term]: { ...(f?.ne ? { ne: f.ne } : {}), oneOf: allowed } } : null;
}

/** The facts without any about `term` or its fields (it was assigned). */
export function forgetTerm(facts: Facts, term: string): Facts {
  let out: Record<string, Fact> | undefined;
  for (const k of Object.keys(facts)) if (k === term || k.startsWith(term + '.')) { out ??= { ...facts }; delete out[k]; }
  return out ?? facts;
}

/** Terms every function shares (the VMCB control area, the kvm_run page): their facts cross calls as they are. */
export function isSharedTerm(term: string): boolean {
  return term.startsWith('vmcb.') || term.startsWith('user.');
}

/** The constant a term is known to equal, if any. */
export function knownSym(facts: Facts, term: string): string | undefined {
  return facts[term]?.eq;
}

/** Whether the facts already say the term differs from `sym`. */
export function knownDifferent(facts: Facts, term: string, sym: string): boolean {
  const f = facts[term];
  return f !== undefined && (f.eq !== undefined ? f.eq !== sym : !!f.ne?.includes(sym) || (!!f.oneOf && !f.oneOf.includes(sym)));
}

/**
 * A callee's facts about its own parameters, restated for the caller: `$2.index` becomes the
 * term of the caller's second argument plus `.index`. Facts on the callee's locals, and on
 * parameters whose argument has no term, say nothing the caller can use.
 */
export function translateTerm(term: string, argTerms: readonly (string | undefined)[]): string | undefined {
  if (isSharedTerm(term)) return term;
  const m = /^\$(\d+)(\..*)?$/.exec(term);
  if (!m) return undefined;
  const base = argTerms[Number(m[1])];
  return base === undefined ? undefined : base + (m[2] ?? '');
}

/** Merges a callee's facts into the caller's; null when the callee's path contradicts the caller's. */
export function mergeCalleeFacts(caller: Facts, callee: Facts, argTerms: readonly (string | undefined)[]): Facts | null {
  let out: Facts | null = caller;
  // for-in: most callees return no facts, and this runs for every outcome adopted
  for (const term in callee) {
    const f = callee[term];
    const t = translateTerm(term, argTerms);
    if (t === undefined) continue;
    if (f.eq !== undefined) out = addFact(out, t, f.eq, true);
    for (const s of f.ne ?? []) if (out) out = addFact(out, t, s, false);
    if (f.oneOf && out) out = addOneOf(out, t, f.oneOf);
    if (!out) return null;
  }
  return out;
}

/** Only the facts about parameters and shared terms survive a return. */
export function parameterFacts(facts: Facts): Facts {
  let out: Record<string, Fact> | undefined;
  for (const k of Object.keys(facts)) {
    if (!k.startsWith('$') && !isSharedTerm(k)) { out ??= { ...facts }; delete out[k]; }
  }
  return out ?? facts;
}

/**
 * What a callee starts knowing: the caller's facts about each argument, as facts about its
 * parameter (`$i`), and the shared terms' facts.
 */
export function calleeFacts(caller: Facts, argTerms: readonly (string | undefined)[]): Facts {
  const out: Record<string, Fact> = {};
  for (const [term, f] of Object.entries(caller)) {
    if (isSharedTerm(term)) out[term] = f;
    argTerms.forEach((a, i) => {
      if (a === undefined) return;
      if (term === a) out[`$${i}`] = f;
      else if (term.startsWith(a + '.')) out[`$${i}${term.slice(a.length)}`] = f;
    });
  }
  return out;
}

export function factsKey(facts: Facts): string {
  return Object.keys(facts).sort().map((k) => {
    const f = facts[k];
    return `${k}${f.eq !== undefined ? `=${f.eq}` : ''}${f.ne ? `!${[...f.ne].sort().join('|')}` : ''}${f.oneOf ? `@${[...f.oneOf].sort().join('|')}` : ''}`;
  }).join(',');
}

/**
 * `facts` without those about shared terms the callee's code never mentions (`terms`, see
 * Program.sharedTerms): it can neither test nor change them, and the caller keeps them, so they
 * would only tell apart calls that compute the same.
 */
export function factsFor(facts: Facts, terms: readonly string[]): Facts {
  let out: Record<string, Fact> | undefined;
  for (const k of Object.keys(facts)) {
    if (!isSharedTerm(k) || terms.some((t) => k === t || k.startsWith(t + '.') || t.startsWith(k + '.'))) continue;
    out ??= { ...facts };
    delete out[k];
  }
  return out ?? facts;
}

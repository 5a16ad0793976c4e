// Reads the bracketed tags at the front of a patch subject, e.g.
// "Re: [RFC PATCH v2 08/35] KVM: SVM: ..." -> version 2, 8 of 35, RFC, title "KVM: SVM: ...".

import type { SubjectTags } from './types';

export interface ParsedSubject {
  tags: SubjectTags;
  /** The subject without reply prefixes and without the leading bracket groups. */
  title: string;
  /** True when the subject starts with "Re:" (a review reply, not a patch). */
  isReply: boolean;
}

// Reply/forward prefixes as mail clients write them (English and German "Aw:"). The optional
// "[2]" takes its own trailing blanks, so two runs of blanks never compete for the same text
// (which made a long run of spaces cost quadratic time).
const REPLY_PREFIX = /^(?:re|aw|fwd?)\s*(?:\[\d+\]\s*)?:\s*/i;

// More digits than any series has; beyond them the number would not even be exact.
const SERIES_NUMBER = /^(\d{1,15})\/(\d{1,15})$/;

export function parseSubjectTags(subject: string): ParsedSubject {
  let rest = subject.trim();
  let isReply = false;
  const groups: string[] = [];

  // Prefixes and bracket groups may interleave ("Re: [PATCH] ..." or "[PATCH] Re: ..." is rare;
  // only the leading run is taken so a bracket inside the title is left alone).
  for (;;) {
    const reply = REPLY_PREFIX.exec(rest);
    if (reply) {
      isReply = true;
      rest = rest.slice(reply[0].length);
      continue;
    }
    if (rest.startsWith('[')) {
      const close = rest.indexOf(']');
      if (close < 0) break; // unbalanced: leave it in the title rather than guess
      groups.push(rest.slice(1, close).trim());
      rest = rest.slice(close + 1).trimStart();
      continue;
    }
    break;
  }

  const tags: SubjectTags = { version: 1, rfc: false, raw: groups.join(' ') };
  for (const group of groups) {
    for (const token of group.split(/[\s,]+/)) {
      if (token === '') continue;
      const nm = SERIES_NUMBER.exec(token);
      if (nm) {
        // The first n/m wins; a second one in another group is noise.
        if (tags.index === undefined) {
          tags.index = Number(nm[1]);
          tags.total = Number(nm[2]);
        }
        continue;
      }
      if (/^rfc$/i.test(token)) {
        tags.rfc = true;
        continue;
      }
      // "v2", "V2", "PATCHv2", "RFCv2", "PATCH-v2"
      const ver = /^(rfc|patch)?-?v(\d{1,15})$/i.exec(token);
      if (ver) {
        tags.version = Number(ver[2]);
        if (ver[1] !== undefined && ver[1].toLowerCase() === 'rfc') tags.rfc = true;
      }
    }
  }

  return { tags, title: rest.trim(), isReply };
}

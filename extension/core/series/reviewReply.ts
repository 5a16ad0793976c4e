// A review reply is not a series: a mail answering a patch ("Re: ...") whose diff, if any, is
// quoted. The replies the extension composes are such files (.eml next to the series), and so
// are replies saved from a mail client; analysing one as a patch reports it as an incomplete series.

const SUBJECT = /^subject:[ \t]*(?:re|aw)[ \t]*:/im;
const UNQUOTED_DIFF = /^(?:diff --git |--- (?:a\/|\/dev\/null)|@@ -\d)/m;

/** Whether `text` is one reply message with no diff of its own (only looks at its headers and unquoted lines). */
export function isReviewReply(text: string): boolean {
  const headerEnd = text.search(/\r?\n\r?\n/);
  if (headerEnd < 0) return false;
  const headers = text.slice(0, headerEnd);
  if (!SUBJECT.test(headers)) return false;
  // an mbox of several messages is a thread, read as one (its patches are what matters)
  if (/^From \S+ /m.test(text.slice(headerEnd))) return false;
  return !UNQUOTED_DIFF.test(text.slice(headerEnd));
}

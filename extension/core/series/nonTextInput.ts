// Files that cannot hold a patch at all: empty, white space only, NUL bytes, binary data, UTF-16.
// Saying what the file is beats a bare "no diff": the user sees at once that the download or
// the redirect went wrong, and what to do about it.

/** How much of the file is looked at; git's own binary test reads the same 8000 bytes. */
const SNIFF_BYTES = 8000;

/** Why these bytes are not a patch, in a few words; undefined when they may well be one. */
export function describeNonText(bytes: Uint8Array): string | undefined {
  if (bytes.length === 0) return 'the file is empty';
  if (isUtf16(bytes)) return 'UTF-16 text, not UTF-8: convert it to UTF-8 (e.g. iconv -f UTF-16 -t UTF-8)';
  if (everyByte(bytes, (b) => b === 0)) return `only NUL bytes (${bytes.length}), not a patch`;
  if (everyByte(bytes, isWhiteSpace)) return 'the file holds only white space, not a patch';
  if (looksBinary(bytes.subarray(0, SNIFF_BYTES))) return 'binary data, not a patch';
  return undefined;
}

function everyByte(bytes: Uint8Array, test: (b: number) => boolean): boolean {
  for (let i = 0; i < bytes.length; i++) if (!test(bytes[i]!)) return false;
  return true;
}

function isWhiteSpace(b: number): boolean {
  return b === 0x20 || (b >= 0x09 && b <= 0x0d);
}

/** A byte order mark, or ASCII-range UTF-16 (every other byte zero) without one. */
function isUtf16(bytes: Uint8Array): boolean {
  if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) return true;
  const n = Math.min(bytes.length, SNIFF_BYTES) >> 1;
  if (n < 2) return false;
  let zeroEven = 0;
  let zeroOdd = 0;
  for (let k = 0; k < n; k++) {
    if (bytes[2 * k] === 0) zeroEven++;
    if (bytes[2 * k + 1] === 0) zeroOdd++;
  }
  // Latin text in UTF-16 has a zero in the high byte of almost every unit and almost never in the low one.
  return (zeroOdd >= 0.7 * n && zeroEven <= 0.05 * n) || (zeroEven >= 0.7 * n && zeroOdd <= 0.05 * n);
}

/** Git's rule (a NUL byte), or so many control characters that no mail or diff looks like it. */
function looksBinary(head: Uint8Array): boolean {
  let controls = 0;
  for (let i = 0; i < head.length; i++) {
    const b = head[i]!;
    if (b === 0) return true;
    if (b < 0x20 && !isWhiteSpace(b) && b !== 0x1b) controls++;
  }
  return controls * 10 > head.length;
}

// changes/ndjson.js — newline-delimited JSON from a byte stream, whatever its chunking.
//
// A line may span chunks and a UTF-8 character may be split between two, so one
// TextDecoder ({stream: true}) decodes the whole stream, and only text up to the
// last newline is cut into lines; the rest waits for more.

/** Bytes in, complete lines out (without "\n" or "\r\n"; blank lines dropped). */
export function lineDecoder() {
  const decoder = new TextDecoder();
  let rest = '';

  /** @param {string} text  ends at a line boundary @returns {string[]} */
  const split = (text) =>
    text
      .split('\n')
      .map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line))
      .filter((line) => line !== '');

  return {
    /** The lines this chunk completes. @param {Uint8Array} chunk @returns {string[]} */
    push(chunk) {
      const text = decoder.decode(chunk, { stream: true });
      // Search only the new text: a long line arriving in many chunks stays linear.
      const last = text.lastIndexOf('\n');
      if (last < 0) {
        rest += text;
        return [];
      }
      const lines = split(rest + text.slice(0, last));
      rest = text.slice(last + 1);
      return lines;
    },

    /** The last line, which may lack its newline (a cut character at the end decodes as U+FFFD). @returns {string[]} */
    end() {
      const lines = split(rest + decoder.decode());
      rest = '';
      return lines;
    },
  };
}

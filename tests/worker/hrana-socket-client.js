// hrana-socket-client.js — a raw libSQL (Hrana 2) WebSocket for tests that speak the
// protocol message by message (stress.test.js, cold.test.js, libsql.test.js): open,
// hello, then request(r) resolves to r's response_ok or response_error message.

import WebSocket from 'ws';

/**
 * @param {string} url  ws:// address of the socket (the standalone router's /db/<tenant>)
 * @param {string} token  the hello's jwt (the router's bearer token)
 * @param {{deadlineMs?: number}} [options]  deadlineMs: a request not answered by then
 *   rejects as hung (a hang detector, not a timing check)
 */
export async function openHranaSocket(url, token, { deadlineMs } = {}) {
  const socket = new WebSocket(url, ['hrana2']);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  /** @type {Map<number, (message: any) => void>} */
  const waiting = new Map();
  socket.on('message', (data) => {
    const message = JSON.parse(String(data));
    if (message.request_id !== undefined) waiting.get(message.request_id)?.(message);
  });
  socket.send(JSON.stringify({ type: 'hello', jwt: token }));
  let next = 0;
  /** @param {string} request  its JSON text @returns {Promise<any>} */
  const requestText = (request) => {
    const id = ++next;
    const answered = new Promise((resolve) => waiting.set(id, resolve));
    socket.send(`{"type":"request","request_id":${id},"request":${request}}`);
    if (deadlineMs === undefined) return answered;
    const hung = new Promise((_, reject) => setTimeout(() => reject(new Error(`request ${id} hung`)), deadlineMs).unref());
    return Promise.race([answered, hung]);
  };
  return {
    /** @param {object} request @returns {Promise<any>} */
    request: (request) => requestText(JSON.stringify(request)),
    /** The request as JSON text of the test's own (numbers JSON.stringify cannot write). */
    requestText,
    close: () => socket.close(),
  };
}

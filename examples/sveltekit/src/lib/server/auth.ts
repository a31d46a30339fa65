// Accounts and sessions. Not the guide's: passwords are PBKDF2-SHA-256 with a random
// salt per account (the guide stored one bare SHA-256, which a GPU reverses for
// common passwords), compared in constant time; the session cookie holds 32 random
// bytes, and the database keeps only their SHA-256 with an expiry, so a leaked
// sessions table cannot be replayed.
import type { Cookies } from '@sveltejs/kit';
import type { DatabaseClient } from 'dosql/client';

export const SESSION_COOKIE = 'session';
const SESSION_MS = 7 * 24 * 60 * 60 * 1000;
/** Workers' WebCrypto caps PBKDF2 at 100,000 iterations. */
const ITERATIONS = 100_000;
const encoder = new TextEncoder();

const hex = (bytes: ArrayBuffer | Uint8Array) =>
	Array.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');

function fromHex(text: string): Uint8Array<ArrayBuffer> {
	const out = new Uint8Array(new ArrayBuffer(text.length / 2));
	for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
	return out;
}

function randomHex(bytes: number): string {
	return hex(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** PBKDF2-SHA-256(password, salt), 100,000 iterations, 32 bytes, as hex. */
export async function hashPassword(password: string, saltHex: string): Promise<string> {
	const key = await crypto.subtle.importKey('raw', encoder.encode(password), 'PBKDF2', false, ['deriveBits']);
	const bits = await crypto.subtle.deriveBits(
		{ name: 'PBKDF2', hash: 'SHA-256', salt: fromHex(saltHex), iterations: ITERATIONS },
		key,
		256
	);
	return hex(bits);
}

/** Equal without an early exit (so timing does not tell how much matched). */
function constantTimeEqual(a: string, b: string): boolean {
	if (a.length !== b.length) return false;
	let diff = 0;
	for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
	return diff === 0;
}

async function sha256Hex(text: string): Promise<string> {
	return hex(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
}

/** A new account; throws DoSQLError SQLITE_CONSTRAINT_UNIQUE when the email is taken. */
export async function createAccount(db: DatabaseClient, email: string, password: string): Promise<number> {
	const salt = randomHex(16);
	const hash = await hashPassword(password, salt);
	const { lastInsertRowId } = await db.run('INSERT INTO accounts (email, password_hash, salt) VALUES (?, ?, ?)', [email, hash, salt]);
	return Number(lastInsertRowId);
}

/** The account when email and password match, else null. */
export async function verifyPassword(db: DatabaseClient, email: string, password: string): Promise<{ id: number; email: string } | null> {
	const account = await db.queryOne<{ id: number; email: string; password_hash: string; salt: string }>(
		'SELECT id, email, password_hash, salt FROM accounts WHERE email = ?',
		[email]
	);
	// Without an account, hash anyway: an unknown email takes as long as a wrong password.
	const hash = await hashPassword(password, account?.salt ?? '00'.repeat(16));
	if (!account || !constantTimeEqual(hash, account.password_hash)) return null;
	return { id: account.id, email: account.email };
}

/** Starts a session: a row keyed by the token's SHA-256, and the cookie with the token. */
export async function startSession(db: DatabaseClient, cookies: Cookies, accountId: number, secure: boolean): Promise<void> {
	const token = randomHex(32);
	const expires = Date.now() + SESSION_MS;
	// Expired sessions of this account go with the new one's insert.
	await db.batch([
		{ sql: 'DELETE FROM sessions WHERE account_id = ? AND expires_at <= ?', params: [accountId, Date.now()] },
		{ sql: 'INSERT INTO sessions (id, account_id, expires_at) VALUES (?, ?, ?)', params: [await sha256Hex(token), accountId, expires] }
	]);
	cookies.set(SESSION_COOKIE, token, { path: '/', httpOnly: true, sameSite: 'lax', secure, expires: new Date(expires) });
}

/** The account of a session token, when the session exists and has not expired. */
export async function accountOfSession(db: DatabaseClient, token: string): Promise<{ id: number; email: string } | null> {
	if (!/^[0-9a-f]{64}$/.test(token)) return null;
	return db.queryOne<{ id: number; email: string }>(
		`SELECT accounts.id, accounts.email FROM sessions JOIN accounts ON accounts.id = sessions.account_id
		 WHERE sessions.id = ? AND sessions.expires_at > ?`,
		[await sha256Hex(token), Date.now()]
	);
}

/** Ends a session: its row and the cookie. */
export async function endSession(db: DatabaseClient, cookies: Cookies, token: string | null): Promise<void> {
	if (token) await db.run('DELETE FROM sessions WHERE id = ?', [await sha256Hex(token)]);
	cookies.delete(SESSION_COOKIE, { path: '/' });
}

/** `to` when it is a path of this site ("/…", not "//host" or "/\host"), else the fallback. */
export function safeRedirect(to: string | null | undefined, origin: string, fallback = '/dashboard'): string {
	if (!to || !to.startsWith('/') || to.startsWith('//') || to.startsWith('/\\')) return fallback;
	try {
		const url = new URL(to, origin);
		if (url.origin !== origin) return fallback;
		return url.pathname + url.search + url.hash;
	} catch {
		return fallback;
	}
}

/** The login URL that comes back to `path` (slashes kept readable: /login?redirectTo=/dashboard). */
export function loginUrl(path: string): string {
	return `/login?redirectTo=${encodeURIComponent(path).replace(/%2F/g, '/')}`;
}

// JSON helpers of the /api routes.
import { json } from '@sveltejs/kit';
import { DoSQLError } from 'dosql/client';

export const apiError = (status: number, error: string) => json({ error }, { status });

/** The JSON object of a request body, or null when it is not one. */
export async function readJson(request: Request): Promise<Record<string, unknown> | null> {
	try {
		const body = await request.json();
		return body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : null;
	} catch {
		return null;
	}
}

/** A whole number ≥ 0 from a query parameter, the default when absent, null when malformed. */
export function intParam(value: string | null, fallback: number): number | null {
	if (value === null || value === '') return fallback;
	return /^\d{1,9}$/.test(value) ? Number(value) : null;
}

export { DoSQLError };

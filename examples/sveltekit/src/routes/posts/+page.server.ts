import type { PageServerLoad } from './$types';
import type { Post } from '$lib/server/db';

const PER_PAGE = 10;

export const load: PageServerLoad = async ({ url, locals }) => {
	const q = (url.searchParams.get('q') ?? '').trim();
	const requested = Number.parseInt(url.searchParams.get('page') ?? '1', 10);
	// LIKE with the user's text as a literal: escape the wildcards.
	const pattern = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
	const where = q ? "WHERE title LIKE ? ESCAPE '\\'" : '';
	const params = q ? [pattern] : [];

	// Count and page in one transaction, so they agree.
	return locals.db.transaction(async (tx) => {
		const { total } = (await tx.queryOne<{ total: number }>(`SELECT count(*) AS total FROM posts ${where}`, params))!;
		const pages = Math.max(1, Math.ceil(total / PER_PAGE));
		const page = Math.min(Math.max(Number.isFinite(requested) ? requested : 1, 1), pages);
		const posts = await tx.query<Pick<Post, 'id' | 'title' | 'published'>>(
			`SELECT id, title, published FROM posts ${where} ORDER BY id LIMIT ? OFFSET ?`,
			[...params, PER_PAGE, (page - 1) * PER_PAGE]
		);
		return { posts, q, page, pages, total };
	});
};

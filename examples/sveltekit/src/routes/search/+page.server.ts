// The guide's /search?q=: users and posts in one UNION ALL query.
import type { PageServerLoad } from './$types';

interface SearchResult {
	id: number;
	title: string;
	type: 'user' | 'post';
	snippet: string;
}

export const load: PageServerLoad = async ({ url, locals }) => {
	const query = url.searchParams.get('q')?.trim() ?? '';

	if (query.length < 2) {
		return { results: [] as SearchResult[], query };
	}

	// Differs from the guide: the user's text is matched literally. The guide put it
	// into the pattern as is, so "%" or "_" were wildcards ("%" found every row).
	const searchPattern = `%${query.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

	const results = await locals.db.query<SearchResult>(
		`SELECT id, name AS title, 'user' AS type, email AS snippet
		 FROM users
		 WHERE name LIKE ? ESCAPE '\\' OR email LIKE ? ESCAPE '\\'
		 UNION ALL
		 SELECT id, title, 'post' AS type, SUBSTR(content, 1, 100) AS snippet
		 FROM posts
		 WHERE title LIKE ? ESCAPE '\\' OR content LIKE ? ESCAPE '\\'
		 LIMIT 50`,
		[searchPattern, searchPattern, searchPattern, searchPattern]
	);

	return { results, query };
};

// src/routes/search/+page.server.ts
import type { PageServerLoad } from './$types';

interface SearchResult {
  id: number;
  title: string;
  type: 'user' | 'post';
  snippet: string;
}

export const load: PageServerLoad = async ({ url, locals }) => {
  const query = url.searchParams.get('q')?.trim();

  if (!query || query.length < 2) {
    return { results: [], query: query ?? '' };
  }

  const searchPattern = `%${query}%`;

  const results = await locals.db.query<SearchResult>(`
    SELECT id, name as title, 'user' as type, email as snippet
    FROM users
    WHERE name LIKE ? OR email LIKE ?
    UNION ALL
    SELECT id, title, 'post' as type, SUBSTR(content, 1, 100) as snippet
    FROM posts
    WHERE title LIKE ? OR content LIKE ?
    LIMIT 50
  `, [searchPattern, searchPattern, searchPattern, searchPattern]);

  return { results, query };
};

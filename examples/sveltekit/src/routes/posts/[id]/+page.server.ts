// The guide's /posts/[id]: the post with its named actions (src/lib/server/posts.ts).
import { loadPost, postActions } from '$lib/server/posts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = loadPost;
export const actions: Actions = postActions;

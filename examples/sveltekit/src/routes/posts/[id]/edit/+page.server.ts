// /posts/[id]/edit: the same page and actions as the guide's /posts/[id] (src/lib/server/posts.ts).
import { loadPost, postActions } from '$lib/server/posts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = loadPost;
export const actions: Actions = postActions;

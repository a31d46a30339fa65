// src/routes/users/new/+page.server.ts
// The guide's, with its SvelteKit 2 fix (docs/troubleshooting.md): redirect() after the try, not in it.
import { fail, redirect } from '@sveltejs/kit';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async () => {
  return {};
};

export const actions: Actions = {
  default: async ({ request, locals }) => {
    const formData = await request.formData();

    const name = formData.get('name')?.toString().trim();
    const email = formData.get('email')?.toString().trim();

    // Validation
    const errors: Record<string, string> = {};

    if (!name || name.length < 2) {
      errors.name = 'Name must be at least 2 characters';
    }

    if (!email || !email.includes('@')) {
      errors.email = 'Valid email is required';
    }

    if (Object.keys(errors).length > 0) {
      return fail(400, { errors, name, email });
    }

    let result;
    try {
      result = await locals.db.run(
        'INSERT INTO users (name, email) VALUES (?, ?)',
        [name, email]
      );
    } catch (error) {
      if ((error as Error).message.includes('UNIQUE constraint')) {
        return fail(400, {
          errors: { email: 'Email already exists' },
          name,
          email,
        });
      }
      throw error;
    }
    redirect(303, `/users/${result.lastInsertRowId}`);
  },
};

// A form's pending state and the use:enhance callback that keeps it, shared by
// the forms: the button is disabled while the action runs, and the typed values
// stay in the fields when the action answers with an error (reset: false).
import type { SubmitFunction } from '@sveltejs/kit';

export function pendingForm() {
	let pending = $state(false);
	const submit: SubmitFunction = () => {
		pending = true;
		return async ({ update }) => {
			await update({ reset: false });
			pending = false;
		};
	};
	return {
		get pending() {
			return pending;
		},
		submit
	};
}

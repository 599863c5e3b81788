// Who is signed in (the user from the last sign-in or refresh), shared by the views.
export const session = { me: null };

// Outside every app folder: not linted.
export const key = process.env.STRIPE_SECRET_KEY;

const stripe = process.env.STRIPE_SECRET_KEY;
const shared = process.env.SHARED_API_KEY;
const admin = process.env.ADMIN_TOKEN; // the admin app's key, not the shop's

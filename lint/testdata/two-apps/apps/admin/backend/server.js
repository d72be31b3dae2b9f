const shared = process.env.SHARED_API_KEY;

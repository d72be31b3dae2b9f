// Validate the secrets once at start-up and fail fast, as the Fusebase
// guide shows. Nothing here loads a .env file: secretexec puts the
// secrets into the environment before node starts.
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`missing secret ${name}: run fusebase secret create`);
  }
  return value;
}

export const openaiKey = requireEnv("OPENAI_API_KEY");
export const { SENTRY_DSN } = process.env;

import { createRoot } from "react-dom/client";

// The browser never sees OPENAI_API_KEY: it asks the backend instead.
const api = import.meta.env.VITE_API_BASE ?? "/api";
const pattern = /"OPENAI_API_KEY"/g; // a regular expression, not a string
/* STRIPE_SECRET_KEY stays on the server too. */

function App() {
  return <p>{`calling ${api}/health`} {pattern.source.length / 2}</p>;
}

createRoot(document.getElementById("root")!).render(<App />);

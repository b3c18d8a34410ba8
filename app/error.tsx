"use client";

export default function ErrorPage({ reset }: { error: Error; reset: () => void }) {
  return (
    <main className="auth-wrap">
      <div className="panel auth-card">
        <div className="empty">
          <strong>Something went wrong</strong>
          <p>The page could not be shown. Try again; if it keeps happening, check the server log.</p>
          <button type="button" className="btn" onClick={reset}>
            Try again
          </button>
        </div>
      </div>
    </main>
  );
}

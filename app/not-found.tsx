import Link from "next/link";

export default function NotFound() {
  return (
    <main className="auth-wrap">
      <div className="panel auth-card">
        <div className="empty">
          <strong>Page not found</strong>
          <p>There is nothing at this address.</p>
          <Link href="/" className="btn">
            Go to the console
          </Link>
        </div>
      </div>
    </main>
  );
}

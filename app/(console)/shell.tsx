"use client";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { signOut } from "next-auth/react";
import { useState } from "react";
import { useBasePath } from "../_lib/base-path";

interface NavItem {
  href: string;
  label: string;
}

export function Shell({
  user,
  children,
}: {
  user: { email: string; name: string; isPlatformAdmin: boolean };
  children: React.ReactNode;
}) {
  const basePath = useBasePath();
  const pathname = usePathname();
  const [signingOut, setSigningOut] = useState(false);
  const workspace: NavItem[] = [{ href: "/tenants", label: "Tenants" }];
  const platform: NavItem[] = user.isPlatformAdmin
    ? [
        { href: "/models", label: "Models" },
        { href: "/backends", label: "Backends" },
        { href: "/prices", label: "Prices" },
        { href: "/users", label: "Users" },
        { href: "/audit", label: "Audit log" },
      ]
    : [];
  const link = (item: NavItem) => (
    <Link
      key={item.href}
      href={item.href}
      aria-current={pathname === item.href || pathname.startsWith(`${item.href}/`) ? "page" : undefined}
    >
      {item.label}
    </Link>
  );
  return (
    <div className="shell">
      <aside className="sidebar">
        <Link href="/tenants" className="brand">
          {/* eslint-disable-next-line @next/next/no-img-element -- tiny static SVG */}
          <img src={`${basePath}/icon.svg`} alt="" />
          Switchyard
        </Link>
        <nav className="nav" aria-label="Main">
          <div className="nav-label">Workspace</div>
          {workspace.map(link)}
          {platform.length > 0 && <div className="nav-label">Platform</div>}
          {platform.map(link)}
        </nav>
        <div className="sidebar-foot">
          <div className="who" title={user.email}>
            {user.name || user.email}
          </div>
          <div className="role">{user.isPlatformAdmin ? "Platform admin" : user.email}</div>
          <button
            type="button"
            className="btn btn-sm"
            disabled={signingOut}
            onClick={() => {
              setSigningOut(true);
              void signOut({ callbackUrl: `${basePath}/signin` });
            }}
          >
            {signingOut ? "Signing out…" : "Sign out"}
          </button>
        </div>
      </aside>
      <div className="main">{children}</div>
    </div>
  );
}

export function TopBar({ crumbs, children }: { crumbs: { label: string; href?: string }[]; children?: React.ReactNode }) {
  return (
    <header className="topbar">
      <nav className="crumbs" aria-label="Breadcrumb">
        {crumbs.map((c, i) => (
          <span key={i} style={{ display: "contents" }}>
            {i > 0 && <span aria-hidden>/</span>}
            {c.href ? <Link href={c.href}>{c.label}</Link> : <strong>{c.label}</strong>}
          </span>
        ))}
      </nav>
      <div>{children}</div>
    </header>
  );
}

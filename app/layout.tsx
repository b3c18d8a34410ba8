import type { Metadata } from "next";
import { builtBasePath } from "@/server/env";
import "./globals.css";
import { Providers } from "./providers";

export const metadata: Metadata = {
  title: { default: "Switchyard", template: "%s · Switchyard" },
  description: "Self-hosted multi-tenant LLM gateway",
};

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body>
        <Providers basePath={builtBasePath()}>{children}</Providers>
      </body>
    </html>
  );
}

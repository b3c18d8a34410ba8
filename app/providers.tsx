"use client";
import { QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { TRPCClientError, createTRPCClient, httpBatchLink } from "@trpc/client";
import { SessionProvider } from "next-auth/react";
import { useState } from "react";
import superjson from "superjson";
import type { AppRouter } from "@/server/trpc/root";
import { BasePathProvider } from "./_lib/base-path";
import { TRPCProvider } from "./_lib/trpc";

function isUnauthorized(error: unknown) {
  return error instanceof TRPCClientError && error.data?.code === "UNAUTHORIZED";
}

/** `basePath`: the build's base path, from the root layout (a server component reads it). */
export function Providers({ basePath, children }: { basePath: string; children: React.ReactNode }) {
  const [queryClient] = useState(
    () =>
      new QueryClient({
        defaultOptions: {
          queries: {
            staleTime: 5_000,
            retry: (count, error) => !(error instanceof TRPCClientError && error.data?.httpStatus && error.data.httpStatus < 500) && count < 2,
          },
        },
        queryCache: new QueryCache({
          onError(error) {
            // An ended session (expired, password changed, disabled): back to sign-in, then back here.
            if (isUnauthorized(error) && typeof window !== "undefined") {
              const here = window.location.pathname.slice(basePath.length) + window.location.search;
              window.location.assign(`${basePath}/signin?callbackUrl=${encodeURIComponent(here || "/")}`);
            }
          },
        }),
      }),
  );
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      links: [httpBatchLink({ url: `${basePath}/api/trpc`, transformer: superjson })],
    }),
  );
  return (
    <BasePathProvider basePath={basePath}>
      <SessionProvider basePath={`${basePath}/api/auth`} refetchOnWindowFocus={false}>
        <QueryClientProvider client={queryClient}>
          <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
            {children}
          </TRPCProvider>
        </QueryClientProvider>
      </SessionProvider>
    </BasePathProvider>
  );
}

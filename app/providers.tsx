"use client";
import { QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { TRPCClientError, createTRPCClient, httpBatchLink } from "@trpc/client";
import { SessionProvider } from "next-auth/react";
import { useState } from "react";
import superjson from "superjson";
import type { AppRouter } from "@/server/trpc/root";
import { BASE_PATH } from "./_lib/base-path";
import { TRPCProvider } from "./_lib/trpc";

function isUnauthorized(error: unknown) {
  return error instanceof TRPCClientError && error.data?.code === "UNAUTHORIZED";
}

export function Providers({ children }: { children: React.ReactNode }) {
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
              const here = window.location.pathname.slice(BASE_PATH.length) + window.location.search;
              window.location.assign(`${BASE_PATH}/signin?callbackUrl=${encodeURIComponent(here || "/")}`);
            }
          },
        }),
      }),
  );
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      links: [httpBatchLink({ url: `${BASE_PATH}/api/trpc`, transformer: superjson })],
    }),
  );
  return (
    <SessionProvider basePath={`${BASE_PATH}/api/auth`} refetchOnWindowFocus={false}>
      <QueryClientProvider client={queryClient}>
        <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
          {children}
        </TRPCProvider>
      </QueryClientProvider>
    </SessionProvider>
  );
}
